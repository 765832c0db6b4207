"""Staff accounts, PIN hashing, lockout, device-bound sessions, login/logout and require()."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from branch_hub.api.guards import require
from branch_hub.security import (
    AccountDisabled,
    AccountLocked,
    HubSecurity,
    LoginFailed,
    SessionStore,
    StaffError,
    StaffStore,
    hash_secret,
    verify_secret,
)
from branch_hub.security.sessions import Session
from tests.support.securehub import PIN, client, login, secure_hub
from tests.support.tlsenv import TlsEnv, make_tls_env


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


def test_pin_hash_is_scrypt_salted_and_verifies() -> None:
    a, b = hash_secret("135790"), hash_secret("135790")
    assert a.startswith("scrypt$32768$8$1$")
    assert a != b
    assert verify_secret("135790", a)
    assert not verify_secret("135791", a)
    assert not verify_secret("135790", "scrypt$garbage")


@pytest.mark.parametrize("weak", ["12345", "111111", "x" * 129])
def test_weak_pins_are_refused(tmp_path: Path, weak: str) -> None:
    store = StaffStore(tmp_path / "s.db")
    with pytest.raises(StaffError):
        store.add("a1", "A", "teller", weak)


def test_bad_role_and_duplicate_are_refused(tmp_path: Path) -> None:
    store = StaffStore(tmp_path / "s.db")
    with pytest.raises(StaffError, match="unknown role"):
        store.add("a1", "A", "janitor", PIN)
    store.add("a1", "A", "teller", PIN)
    with pytest.raises(StaffError, match="already exists"):
        store.add("a1", "A", "teller", PIN)
    with pytest.raises(StaffError, match="staff id"):
        store.add("../x", "A", "teller", PIN)


def test_five_failures_lock_for_15_minutes_and_survive_restart(tmp_path: Path) -> None:
    clock = Clock()
    store = StaffStore(tmp_path / "s.db", clock)
    store.add("t1", "T", "teller", PIN)
    for _ in range(4):
        with pytest.raises(LoginFailed) as info:
            store.login("t1", "000000")
        assert not isinstance(info.value, AccountLocked)
    with pytest.raises(AccountLocked):
        store.login("t1", "000000")
    store.close()
    store = StaffStore(tmp_path / "s.db", clock)  # the lock is on disk
    clock.now += 14 * 60
    with pytest.raises(AccountLocked, match="locked"):
        store.login("t1", PIN)  # even the right PIN
    clock.now += 61
    assert store.login("t1", PIN).role == "teller"


def test_success_resets_the_failure_count(tmp_path: Path) -> None:
    store = StaffStore(tmp_path / "s.db", Clock())
    store.add("t1", "T", "teller", PIN)
    for _ in range(4):
        with pytest.raises(LoginFailed):
            store.login("t1", "000000")
    store.login("t1", PIN)
    for _ in range(4):
        with pytest.raises(LoginFailed):
            store.login("t1", "000000")
    assert store.login("t1", PIN).staff_id == "t1"


def test_unknown_and_disabled_accounts(tmp_path: Path) -> None:
    store = StaffStore(tmp_path / "s.db")
    store.add("t1", "T", "teller", PIN)
    with pytest.raises(LoginFailed, match="wrong"):
        store.login("nobody", PIN)
    store.set_disabled("t1")
    with pytest.raises(AccountDisabled):
        store.login("t1", PIN)
    with pytest.raises(LoginFailed):
        store.login("t1", "000000")


def test_sessions_bound_to_device_expire_when_idle() -> None:
    clock = Clock()
    store = SessionStore(600, clock)
    token = store.create("w1", "wealth_manager", "W", "TAB1")
    assert isinstance(store.resolve(token, "TAB1"), Session)
    assert store.resolve(token, "TAB2") == "other_device"
    clock.now += 599
    assert isinstance(store.resolve(token, "TAB1"), Session)  # use refreshes it
    clock.now += 601
    assert store.resolve(token, "TAB1") == "expired"
    assert store.resolve(token, "TAB1") == "unknown"


def test_new_login_on_a_device_ends_the_previous_one() -> None:
    store = SessionStore(600)
    first = store.create("w1", "wealth_manager", "W", "TAB1")
    second = store.create("t1", "teller", "T", "TAB1")
    assert store.resolve(first, "TAB1") == "unknown"
    assert isinstance(store.resolve(second, "TAB1"), Session)
    assert store.end_for_device("TAB1") == 1


def _wealth_route(app: web.Application) -> None:
    async def wealth(request: web.Request) -> web.Response:
        context = require(request, kinds={"tablet", "counter"}, roles={"wealth_manager"})
        return web.json_response({"staff_id": context.staff_id, "device": context.device_id})

    app.router.add_get("/api/v1/test/wealth", wealth)


def test_login_use_and_logout_over_mutual_tls(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with (
            secure_hub(tmp_path, tls, extra=_wealth_route) as (hub, url),
            client(tls, "TAB1", "tablet", hub) as tab1,
            client(tls, "TAB2", "tablet", hub) as tab2,
        ):
            status, body = await login(tab1, url)
            assert status == 200, body
            assert body["role"] == "wealth_manager"
            assert body["expires_in_s"] == 900
            auth = {"Authorization": f"Bearer {body['token']}"}
            async with tab1.get(f"{url}/api/v1/test/wealth", headers=auth) as r:
                assert r.status == 200
                assert await r.json() == {"staff_id": "w1", "device": "TAB1"}
            async with tab1.get(f"{url}/api/v1/test/wealth") as r:
                assert r.status == 401
                assert (await r.json())["error"]["code"] == "login_required"
            # The token stolen onto another device is worthless.
            async with tab2.get(f"{url}/api/v1/test/wealth", headers=auth) as r:
                assert r.status == 401
                assert "another device" in (await r.json())["error"]["message"]
            async with tab1.post(f"{url}/api/v1/logout", headers=auth) as r:
                assert (await r.json()) == {"ended": True}
            async with tab1.get(f"{url}/api/v1/test/wealth", headers=auth) as r:
                assert r.status == 401
                assert (await r.json())["error"]["code"] == "session_invalid"
            # A teller is refused the wealth endpoint.
            status, body = await login(tab1, url, "t1")
            auth = {"Authorization": f"Bearer {body['token']}"}
            async with tab1.get(f"{url}/api/v1/test/wealth", headers=auth) as r:
                assert r.status == 403
                assert (await r.json())["error"]["code"] == "role_forbidden"
            actions = [e.action for e in hub.security.audit.entries()]  # type: ignore[union-attr]
            assert actions == ["login", "logout", "login"]
            assert hub.security.audit.verify() == 3  # type: ignore[union-attr]

    asyncio.run(main())


def test_login_refused_without_cert_and_on_a_kiosk(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with (
            secure_hub(tmp_path, tls) as (hub, url),
            client(tls) as anonymous,
            client(tls, "K1", "kiosk", hub) as kiosk,
        ):
            status, body = await login(anonymous, url)
            assert status == 401
            assert body["error"]["code"] == "device_not_enrolled"
            status, body = await login(kiosk, url)
            assert status == 403
            assert body["error"]["code"] == "device_kind_forbidden"

    asyncio.run(main())


def test_pin_brute_force_locks_the_account(tmp_path: Path, tls: TlsEnv) -> None:
    """Six wrong PINs for one account from two tablets (3 each: no device backoff yet)."""

    async def main() -> None:
        async with (
            secure_hub(tmp_path, tls) as (hub, url),
            client(tls, "TAB1", "tablet", hub) as tab1,
            client(tls, "TAB2", "tablet", hub) as tab2,
            client(tls, "TAB3", "tablet", hub) as clean,
        ):
            codes = []
            for guess in range(6):
                tab = (tab1, tab2)[guess % 2]
                status, body = await login(tab, url, "t1", f"{100000 + guess}")
                codes.append((status, body["error"]["code"]))
            assert codes == [(401, "login_failed")] * 6  # the lock is not announced
            # The lock is the account's: a tablet that never failed is refused the right PIN.
            status, body = await login(clean, url, "t1", PIN)
            assert (status, body["error"]["code"]) == (401, "login_failed")
            assert hub.security.staff.get("t1").locked_until > 0
            assert (await login(clean, url, "w1", PIN))[0] == 200  # other accounts are not
            entries = list(hub.security.audit.entries())  # type: ignore[union-attr]
            assert [e.action for e in entries] == ["login_failed"] * 7 + ["login"]
            reasons = [e.detail["reason"] for e in entries[:7]]
            assert reasons == ["LoginFailed"] * 4 + ["AccountLocked"] * 3

    asyncio.run(main())


def test_login_answers_never_tell_a_real_id_from_an_unknown_one(
    tmp_path: Path, tls: TlsEnv
) -> None:
    """Six wrong PINs for a real id and for an unknown one: same statuses, bodies and pace.

    Each id's guesses alternate between two tablets, so no tablet waits (its backoff starts
    after 3 failures): the answers compared are all the account's, never the device's.
    """

    async def attempts(tabs: list[aiohttp.ClientSession], url: str, staff_id: str) -> list[Any]:
        answers: list[Any] = []
        for guess in range(6):
            start = time.perf_counter()
            async with tabs[guess % 2].post(
                f"{url}/api/v1/login", json={"staff_id": staff_id, "pin": f"{200000 + guess}"}
            ) as r:
                answers.append((r.status, await r.read(), time.perf_counter() - start))
        return answers

    async def main() -> None:
        async with (
            secure_hub(tmp_path, tls) as (hub, url),
            client(tls, "TAB1", "tablet", hub) as tab1,
            client(tls, "TAB2", "tablet", hub) as tab2,
            client(tls, "TAB3", "tablet", hub) as tab3,
            client(tls, "TAB4", "tablet", hub) as tab4,
            client(tls, "TAB5", "tablet", hub) as tab5,
        ):
            hub.security.staff.add("d1", "Disabled One", "teller", PIN)
            hub.security.staff.set_disabled("d1")
            real = await attempts([tab1, tab3], url, "w1")
            unknown = await attempts([tab2, tab4], url, "nobody-here")
            assert [a[:2] for a in real] == [a[:2] for a in unknown]
            assert {a[0] for a in real} == {401}
            async with tab5.post(
                f"{url}/api/v1/login", json={"staff_id": "d1", "pin": PIN}
            ) as r:  # a disabled account, right PIN
                assert (r.status, await r.read()) == real[0][:2]
            # Both paths run one scrypt check: the pace does not tell either.
            real_s = statistics.median(a[2] for a in real)
            unknown_s = statistics.median(a[2] for a in unknown)
            assert 0.5 < real_s / unknown_s < 2.0, (real_s, unknown_s)
            assert hub.security.staff.get("w1").locked_until > time.time()
            detail = [e.detail for e in hub.security.audit.entries()]  # type: ignore[union-attr]
            assert {"reason": "AccountLocked", "known_id": True} in detail
            assert {"reason": "LoginFailed", "known_id": False} in detail
            assert {"reason": "AccountDisabled", "known_id": True} in detail

    asyncio.run(main())


def test_malformed_login_bodies_get_400(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with (
            secure_hub(tmp_path, tls) as (hub, url),
            client(tls, "TAB1", "tablet", hub) as tab,
        ):
            for body in (b"{", b"[]", b'{"staff_id": 5, "pin": "123456"}', b'{"staff_id": "w1"}'):
                async with tab.post(f"{url}/api/v1/login", data=body) as r:
                    assert r.status == 400, body
                    assert (await r.json())["error"]["code"].startswith("bad_")
            async with tab.post(f"{url}/api/v1/login", data=b"x" * 70_000) as r:
                assert r.status == 413

    asyncio.run(main())


def test_hub_security_open_creates_private_folder(tmp_path: Path) -> None:
    security = HubSecurity.open(tmp_path)
    assert (tmp_path / "security").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "security" / "audit.key").stat().st_mode & 0o777 == 0o600
    security.close()


def test_disabling_staff_ends_their_live_session(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with (
            secure_hub(tmp_path, tls, extra=_wealth_route) as (hub, url),
            client(tls, "TAB1", "tablet", hub) as tab,
        ):
            _, body = await login(tab, url)
            auth = {"Authorization": f"Bearer {body['token']}"}
            async with tab.get(f"{url}/api/v1/test/wealth", headers=auth) as r:
                assert r.status == 200
            # branch-provision staff disable, from another process (its own connection).
            other = StaffStore(tmp_path / "security" / "staff.db")
            other.set_disabled("w1")
            other.close()
            async with tab.get(f"{url}/api/v1/test/wealth", headers=auth) as r:
                assert r.status == 401

    asyncio.run(main())


def test_spraying_pins_across_accounts_is_throttled_per_device(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with (
            secure_hub(tmp_path, tls) as (hub, url),
            client(tls, "TAB1", "tablet", hub) as tab,
            client(tls, "TAB2", "tablet", hub) as other,
        ):
            statuses = [(await login(tab, url, f"s{i}", "135790"))[0] for i in range(4)]
            assert statuses == [401] * 3 + [429]
            async with tab.post(f"{url}/api/v1/login", json={"staff_id": "w1", "pin": PIN}) as r:
                assert r.status == 429  # the device waits, whichever account it tries
                assert r.headers["Retry-After"] == "1"
                body = await r.json()
                assert body["error"]["code"] == "too_many_attempts"
                assert "1 秒" in body["error"]["message_zh"]
            assert (await login(other, url))[0] == 200  # another device is not affected

    asyncio.run(main())


def test_branch_admin_lists_and_revokes_devices(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        security = HubSecurity.open(tmp_path, ca=tls.ca)
        security.staff.add("boss", "Boss", "branch_admin", PIN)
        async with (
            secure_hub(tmp_path, tls, security=security) as (hub, url),
            client(tls, "TAB1", "tablet", hub) as admin_tab,
            client(tls, "TAB2", "tablet", hub) as victim,
        ):
            async with victim.get(f"{url}/api/v1/health") as r:
                assert r.status == 200
            _, body = await login(admin_tab, url, "w1")
            wealth = {"Authorization": f"Bearer {body['token']}"}
            async with admin_tab.post(f"{url}/api/v1/devices/TAB2/revoke", headers=wealth) as r:
                assert r.status == 403
            _, body = await login(admin_tab, url, "boss")
            auth = {"Authorization": f"Bearer {body['token']}"}
            async with admin_tab.get(f"{url}/api/v1/devices", headers=auth) as r:
                ids = [d["device_id"] for d in (await r.json())["devices"]]
                assert ids == ["TAB1", "TAB2"]
            async with admin_tab.post(f"{url}/api/v1/devices/TAB2/revoke", headers=auth) as r:
                assert await r.json() == {"device_id": "TAB2", "active": False}
            async with admin_tab.post(f"{url}/api/v1/devices/NOPE/revoke", headers=auth) as r:
                assert r.status == 404
            async with victim.get(f"{url}/api/v1/health") as r:
                assert r.status == 403
            revocations = [e for e in hub.audit.entries() if e.action == "revocation"]
            assert [(e.staff_id, e.subject) for e in revocations] == [("boss", "TAB2")]

    asyncio.run(main())
