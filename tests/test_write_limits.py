"""Nothing a device sends can fill the hub's disk: every stored field is bounded, every write limited.

The route table: every write route names its write class (the guard that limits it), and every
string a request body carries has a documented bound. Then on the real hub over mutual TLS:
each string field of each write route sent one character over its bound (1000 characters where
the bound is a word list) answers 400 with its reason code and a Chinese message, and no row is
added to any of the hub's databases; a burst of full-size app reports or of tickets from one
kiosk is cut to its class's budget with 429 and `Retry-After`, and another device's budget is
its own. The device client's updater cuts a report to the bounds before it sends it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from branch_hub.api import ROUTES
from branch_hub.api.routes import Reply, Route, register
from branch_hub.client import HubRefused
from branch_hub.client._transport import decode_answer
from branch_hub.client.updater import AppUpdater
from branch_hub.limits import BUDGETS
from branch_hub.vocabulary import (
    REPORT_DETAIL_MAX_CHARS,
    REPORT_REASON_MAX_CHARS,
    REPORT_VERSION_MAX_CHARS,
    WriteClass,
)
from tests.support.openapi_check import OpenApi, Operation
from tests.support.openapi_server import BASE, Server

ROOT = Path(__file__).resolve().parent.parent
API = OpenApi(ROOT / "docs" / "openapi.yaml")
BODY_OPERATIONS = [op for op in API.operations() if "requestBody" in op.spec]
GENERIC_ZH = "请求无效，请检查后重试。"
FULL_REPORT = {
    "event": "installed",
    "version": "v" * REPORT_VERSION_MAX_CHARS,
    "reason": "r" * REPORT_REASON_MAX_CHARS,
    "detail": "d" * REPORT_DETAIL_MAX_CHARS,
}


def test_every_write_route_names_its_write_class() -> None:
    writes = [r for r in ROUTES if r.method != "GET"]
    assert writes
    assert [r.path for r in writes if r.limit is None] == []
    own = {r.path for r in writes if BUDGETS[r.limit or WriteClass.OWN_LOCKOUT] is None}
    # The security module's own lockouts: the PIN check counts with the failed logins.
    assert own == {f"{BASE}/login", f"{BASE}/enrol", f"{BASE}/session/pin-check"}

    async def handler(_request: web.Request) -> web.Response:
        return web.Response()

    unlimited = Route("POST", "/x", handler, "x", "x", None, {200: Reply("x")})
    with pytest.raises(ValueError, match="names no write limit class"):
        register(web.Application(), (unlimited,))


def _string_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each property that can hold a string, with its (resolved) string schema."""
    out = {}
    for name, prop in schema.get("properties", {}).items():
        for option in [prop, *prop.get("anyOf", []), *prop.get("oneOf", [])]:
            option = API.resolve(option)
            kinds = option.get("type", [])
            if "string" in ([kinds] if isinstance(kinds, str) else kinds):
                out[name] = {**prop, **option}
    return out


def test_every_string_a_request_body_carries_is_bounded() -> None:
    for op in BODY_OPERATIONS:
        schema, _ = API.body_schema(op)
        assert schema is not None
        for name, field in _string_fields(schema).items():
            if field.get("description", "").startswith("Ignored"):
                continue  # never read, never stored
            assert "maxLength" in field or "enum" in field, (op.path, name)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("bounds")) as srv:
        yield srv


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("limits"), write_limit_scale=1.0) as srv:
        yield srv


def _rows(data: Path) -> dict[str, int]:
    """Rows in every table of every database in the hub's data folder."""
    counts = {}
    for db in sorted(data.rglob("*.db")):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            tables = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                (count,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
                counts[f"{db.relative_to(data)}:{table}"] = count
    return counts


def _disk(data: Path, pattern: str = "**/*.db*") -> int:
    return sum(p.stat().st_size for p in data.glob(pattern))


def _url(server: Server, op: Operation, ids: dict[str, str]) -> str:
    return server.url + re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "L1"), op.path)


def _ids(server: Server) -> dict[str, str]:
    issued = server.sessions["kiosk"].post(
        f"{server.url}/kiosk/tickets", json={"service": "cash"}, timeout=10
    )
    ticket = issued.json()["ticket"]["id"]
    assert server.run is not None
    visit = str(server.run.lobby.visits.visit_of_ticket(ticket))
    return {"visit_id": visit, "ticket_id": ticket, "counter_id": "C1", "app": "tablet"}


def test_every_write_route_refuses_an_oversized_field_and_stores_nothing(server: Server) -> None:
    assert server.run is not None
    ids = _ids(server)
    data = server.run.hub.data_dir
    before, sent = _rows(data), 0
    for op in BODY_OPERATIONS:
        schema, example = API.body_schema(op)
        assert schema is not None
        for name, field in _string_fields(schema).items():
            if field.get("description", "").startswith("Ignored"):
                continue
            body = {**(example or {}), name: "x" * (field.get("maxLength", 999) + 1)}
            answer = server.client(op).post(_url(server, op, ids), json=body, timeout=10)
            sent += 1
            assert answer.status_code == 400, (op.path, name, answer.text)
            error = answer.json()["error"]
            assert error["code"].startswith("bad_"), (op.path, name, error)
            assert error["message_zh"] != GENERIC_ZH, (op.path, name, error)
    assert sent >= 20
    assert _rows(data) == before


def test_oversized_reports_are_all_refused(server: Server) -> None:
    assert server.run is not None
    data = server.run.hub.data_dir
    before, size = _rows(data), _disk(data, "appstore/*")
    kiosk = server.sessions["kiosk"]
    huge = {**FULL_REPORT, "version": "x" * 60_000}
    codes = {
        kiosk.post(f"{server.url}/apps/kiosk/reports", json=huge, timeout=10).status_code
        for _ in range(100)
    }
    assert codes == {400}
    assert _rows(data) == before
    print(f"100 oversized reports: appstore grew {_disk(data, 'appstore/*') - size} bytes")


def test_a_burst_of_reports_is_cut_to_the_budget(limited: Server) -> None:
    assert limited.run is not None
    data = limited.run.hub.data_dir
    budget = BUDGETS[WriteClass.REPORT]
    assert budget is not None
    size = _disk(data)
    kiosk = limited.sessions["kiosk"]
    answers = [
        kiosk.post(f"{limited.url}/apps/kiosk/reports", json=FULL_REPORT, timeout=10)
        for _ in range(1000)
    ]
    accepted = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code == 429]
    assert len(accepted) + len(refused) == 1000
    # the burst, plus at most a few refills over the seconds the burst took
    assert budget.burst <= len(accepted) <= budget.burst + 3
    for answer in refused[:50]:
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.json()["error"]["code"] == "rate_limited"
        assert answer.json()["error"]["message_zh"]
    # another device's budget is its own
    tablet = limited.sessions["device"]
    mine = tablet.post(f"{limited.url}/apps/tablet/reports", json=FULL_REPORT, timeout=10)
    assert mine.status_code == 201
    print(f"1000 reports: {len(accepted)} accepted, db grew {_disk(data) - size} bytes")


def test_a_burst_of_tickets_from_one_kiosk_is_cut_to_the_budget(limited: Server) -> None:
    budget = BUDGETS[WriteClass.TICKET]
    assert budget is not None
    kiosk = limited.sessions["kiosk"]
    statuses = [
        kiosk.post(f"{limited.url}/kiosk/tickets", json={"service": "cash"}, timeout=10).status_code
        for _ in range(40)
    ]
    accepted = statuses.count(201)
    assert budget.burst <= accepted <= budget.burst + 5
    assert statuses.count(429) == 40 - accepted


def test_the_device_client_shows_a_disk_reserve_refusal_with_its_chinese_message() -> None:
    answer = requests.Response()
    answer.status_code = 507
    error = {"code": "disk_reserve", "message": "full", "message_zh": "集线器存储空间不足"}
    answer._content = json.dumps({"error": error}).encode()
    with pytest.raises(HubRefused) as refused:
        decode_answer(answer)
    assert (refused.value.code, refused.value.message_zh) == ("disk_reserve", "集线器存储空间不足")


def test_a_kiosk_updater_sends_its_report_cut_to_the_bounds(server: Server, tmp_path: Path) -> None:
    assert server.run is not None
    cert = server.sessions["kiosk"].cert  # the kiosk's own certificate, as enrolled
    assert isinstance(cert, tuple)
    updater = AppUpdater(
        server.run.url,
        "kiosk",
        tmp_path,
        Ed25519PrivateKey.generate().public_key(),
        ca_file=str(server.tls.ca_path),
        client_cert=cert,
    )
    assert updater.report("refused", "9" * 500, "r" * 300, "d" * 2000)
    stored = server.run.hub.appstore.reports(1)[0]
    assert len(stored["version"]) == REPORT_VERSION_MAX_CHARS
    assert len(stored["reason"]) == REPORT_REASON_MAX_CHARS
    assert len(stored["detail"]) == REPORT_DETAIL_MAX_CHARS
