"""HQ's feedback comes back down: staff accept leads on the hub, HQ's collector receives them,
the simulated core system (`branch-sync confirm`) books some as purchases, the next publish
carries them as a delta, the hub pulls it, and today's report shows exactly those as confirmed
(purchases dated after the report day still count for it: the report is rebuilt on each view).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from branch_hub.client.models import BranchReport
from branch_hub.outbox import OutboxSender, load_or_create_signing_key
from sync.catalogue_cli import write_catalogue_dir
from sync.catalogue_synth import generate_catalogue
from sync.cli import main as branch_sync
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file
from sync.synth_products import read_catalogue_refs
from tests.outbox_support import Hq, running
from tests.support.lobbyenv import BRANCH, BuiltCache, branch_config, running_hub
from tests.support.report_recount import work_part
from tests.support.tlsenv import make_tls_env


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


class Hqside:
    """HQ's export, keys and publication folder; the hub's first cache pulled from it."""

    def __init__(self, root: Path) -> None:
        self.root, self.signing, self.hub_key = root, Ed25519PrivateKey.generate(), None
        write_catalogue_dir(generate_catalogue(40, 0, seed=11, as_of=_today()), root / "cat")
        refs = read_catalogue_refs(root / "cat")
        self.export = root / "export.jsonl"
        opts = SynthOptions(customers=200, seed=5, as_of=_today(), catalogue=refs)
        write_export_file(opts, self.export, workers=1, progress=False)
        self.hub = X25519PrivateKey.generate()
        self.publish(self.export)
        self.pull(root / "cache")
        key = self.hub.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (root / "cache" / "hub_sync.key").write_bytes(key)

    def rows(self, export: Path) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in export.read_bytes().splitlines()]

    def publish(self, export: Path, previous: Path | None = None) -> None:
        pub = self.root / "pub"
        publish(export, self.hub.public_key(), self.signing, pub, BRANCH, previous=previous,
                workers=1, progress=False)  # fmt: skip

    def pull(self, cache: Path) -> None:
        pull((self.root / "pub").as_uri(), cache, hq_public=self.signing.public_key(),
             hub_key=self.hub, branch_id=BRANCH, progress=False)  # fmt: skip


def _chosen(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Customers with a card, no decline in HQ's history and leads naming catalogue products."""
    return [
        r
        for r in rows
        if r["cards"]
        and not r.get("lead_declines")
        and sum(bool(lead.get("product_codes")) for lead in r["leads"]) >= 2
    ][:5]


async def _accept_leads(
    run: Any, http: aiohttp.ClientSession, people: list[dict[str, Any]]
) -> None:
    """Each arrives by card; the wealth manager records every lead accepted but one declined."""
    ssl, headers = run.staff("wealth")
    kiosk = run.tls.client_context("K1", "kiosk")
    for n, person in enumerate(people):
        session = await run.lobby.identify("K1", "pan", person["cards"][0]["pan"])
        body = {"service": "wealth", "session_id": session.session_id}
        async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk) as resp:
            assert resp.status == 201
        visit = next(
            v.visit_id
            for v in run.hub.lobby.visits.of_day(_today().isoformat())
            if v.customer_id == person["customer_id"]
        )
        url = f"{run.url}/api/v1/visits/{visit}"
        async with http.get(f"{url}/brief", ssl=ssl, headers=headers) as resp:
            leads = (await resp.json())["leads"]
        for m, lead in enumerate(leads):
            outcome = {"outcome": "declined", "reason": "no_funds_now"} if n == m == 0 else None
            path = f"{url}/leads/{lead['lead_id']}/outcome"
            chosen = outcome or {"outcome": "accepted"}
            async with http.post(path, json=chosen, ssl=ssl, headers=headers) as resp:
                assert resp.status == 201, await resp.text()


def _deliver(hub: Any, root: Path) -> Path:
    """Send the hub's outbox to HQ's reference collector (a real process); its database."""
    key = load_or_create_signing_key(root / "outcome_signing.key")
    (root / "hq").mkdir()
    hq = Hq(root / "hq", {BRANCH: root / "outcome_signing.pub"})
    with running(hq):
        sender = OutboxSender(hub.outbox, collector_url=hq.url, ca_file=str(hq.ca),
                              branch_id=BRANCH, signing_key=key)  # fmt: skip
        sender.send_due()
        sender.close()
    return hq.db


async def _report(run: Any, http: aiohttp.ClientSession) -> dict[str, Any]:
    ssl = run.tls.client_context("TAB-bm", "tablet")
    token = run.security.sessions.create("S-BM", "branch_admin", "bm", "TAB-bm")
    url = f"{run.url}/api/v1/reports/day?date={_today().isoformat()}"
    async with http.get(url, ssl=ssl, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
    assert BranchReport.from_wire(body).to_wire() == body
    return body


def _marked(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> dict[tuple[str, str], Any]:
    """(customer, lead) -> `confirmed` for the leads `confirm` marked."""
    was = {(r["customer_id"], lead["lead_id"]) for r in before for lead in r["leads"]
           if lead.get("confirmed")}  # fmt: skip
    return {
        (r["customer_id"], lead["lead_id"]): lead["confirmed"]
        for r in after
        for lead in r["leads"]
        if lead.get("confirmed") and (r["customer_id"], lead["lead_id"]) not in was
    }


def test_hq_confirmations_reach_the_branch_report(tmp_path: Path) -> None:
    hq = Hqside(tmp_path / "hq-side")
    rows = hq.rows(hq.export)
    people, tls = _chosen(rows), make_tls_env(tmp_path / "pki")
    assert len(people) == 5
    confirmed_export = tmp_path / "confirmed.jsonl"

    async def scenario() -> None:
        data = tmp_path / "hub"
        async with running_hub(
            data, tls, branch_config(), BuiltCache(hq.root / "cache", rows)
        ) as run:
            run.security.staff.add("S-BM", "行长 李明", "branch_admin", "580213")
            loop = asyncio.get_running_loop()
            async with aiohttp.ClientSession() as http:
                await _accept_leads(run, http, people)
                before = await _report(run, http)
                assert before["leads"]["total"]["confirmed"] == 0
                db = await loop.run_in_executor(None, _deliver, run.hub, tmp_path)
                argv = ["confirm", "--collector-db", str(db), "--export", str(hq.export),
                        "--out", str(confirmed_export), "--branch", BRANCH, "--share", "0.6",
                        "--seed", "3", "--as-of", (_today() + timedelta(days=7)).isoformat()]  # fmt: skip
                assert await loop.run_in_executor(None, branch_sync, argv) == 0
                await loop.run_in_executor(None, hq.publish, confirmed_export, hq.export)
                await loop.run_in_executor(None, hq.pull, data / "cache")
                marks = _marked(rows, hq.rows(confirmed_export))
                assert marks, "the simulated core system confirmed some of today's acceptances"
                for _ in range(100):  # the hub's cache notices the new version within a second
                    after = await _report(run, http)
                    if after["leads"]["total"]["confirmed"]:
                        break
                    await asyncio.sleep(0.1)
                _check(run, after, marks, hq.rows(confirmed_export))

    asyncio.run(scenario())


def _check(
    run: Any, report: dict[str, Any], marks: dict[Any, Any], exported: list[dict[str, Any]]
) -> None:
    total = report["leads"]["total"]
    assert total["confirmed"] == len(marks)  # exactly what confirm marked for this branch today
    assert total["confirmed_rate"] == round(len(marks) / total["accepted"], 4)
    assert all(date.fromisoformat(m["purchased_on"]) > _today() for m in marks.values())
    [wealth] = [line for line in report["staff"] if line["staff_id"] == "S-WEALTH"]
    assert wealth["leads"]["confirmed"] == len(marks)
    assert sum(line["confirmed"] for line in report["leads"]["by_lead_type"]) == len(marks)
    by_product = {line["key"]: line["confirmed"] for line in report["leads"]["by_product"]}
    for product in {m["product"] for m in marks.values()}:
        assert by_product[product] == sum(m["product"] == product for m in marks.values())
    facts = {
        (c["customer_id"], lead["lead_id"]): (
            lead["product_code"],
            tuple(lead.get("product_codes") or ()),
            (lead.get("confirmed") or {}).get("product"),
        )
        for c in exported
        for lead in c["leads"]
    }
    work, _ = work_part(run.hub, _today().isoformat(), facts)
    assert report["leads"] == work["leads"]  # the recount from the raw rows agrees
