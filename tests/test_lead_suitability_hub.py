"""Leads name catalogue products, judged for the customer over TLS; the hub refuses pitching them.

HQ's synthetic export is written with a catalogue (leads carry product_codes), sealed, published
and pulled like any export; the hub applies the same catalogue. Four customers are set up: a C2
customer offered an R4 product, an expired assessment, no assessment, and a C5 customer. Every
role's brief judges each lead's products, a role that must not see the risk level never does;
accepting an unsuitable lead is refused 409 (and audited), its retry too; not_suitable is taken.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from branch_hub.client.models import Brief
from sync.catalogue_bundle import publish_catalogue
from sync.catalogue_cli import write_catalogue_dir
from sync.catalogue_model import Catalogue
from sync.catalogue_pull import pull_catalogue
from sync.catalogue_synth import generate_catalogue
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file
from sync.synth_products import read_catalogue_refs
from tests.support.lobbyenv import BuiltCache, branch_config, running_hub
from tests.support.tlsenv import TlsEnv, make_tls_env

BRANCH = "BJ-CY-0105"


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@dataclass
class World:
    """The cache built from an export with product codes, the catalogue, and who is who."""

    cache: BuiltCache
    catalogue: Catalogue
    people: dict[str, dict[str, Any]]  # case -> the customer's export record
    risky: str  # an R4 product on sale
    mild: str  # an R1 product on sale


def _on_sale(catalogue: Catalogue, risk: str, today: date) -> str:
    return next(p.code for p in catalogue.products if p.risk == risk and p.on_sale(today))


def _cases(risky: str, mild: str, today: date) -> dict[str, tuple[Any, list[str]]]:
    later, earlier = (
        (today + timedelta(days=200)).isoformat(),
        (today - timedelta(days=3)).isoformat(),
    )
    return {
        "too_high": ({"level": "C2", "expires": later}, [risky]),
        "expired": ({"level": "C4", "expires": earlier}, [mild]),
        "none": (None, [mild, risky]),
        "suitable": ({"level": "C5", "expires": later}, [risky, mild]),
    }


def _seal(root: Path, export: Path) -> Path:
    hq, hub = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    publish(export, hub.public_key(), hq, root / "pub", BRANCH, workers=1, progress=False)
    cache = root / "cache"
    pull((root / "pub").as_uri(), cache, hq_public=hq.public_key(), hub_key=hub,
         branch_id=BRANCH, progress=False)  # fmt: skip
    key = hub.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    (cache / "hub_sync.key").write_bytes(key)
    return cache


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root, today = tmp_path_factory.mktemp("suit"), _today()
    catalogue = generate_catalogue(80, 10, seed=11, as_of=today)
    write_catalogue_dir(catalogue, root / "catalogue")
    refs = read_catalogue_refs(root / "catalogue")
    export = root / "export.jsonl"
    opts = SynthOptions(customers=120, seed=5, as_of=today, catalogue=refs)
    write_export_file(opts, export, workers=1, progress=False)
    rows = [orjson.loads(line) for line in export.read_bytes().splitlines()]
    assert any(lead.get("product_codes") for row in rows for lead in row["leads"])
    risky, mild = _on_sale(catalogue, "R4", today), _on_sale(catalogue, "R1", today)
    chosen = [r for r in rows if r["cards"] and r["leads"] and not r.get("lead_declines")][:4]
    people = {}
    for row, (case, (assessment, codes)) in zip(
        chosen, _cases(risky, mild, today).items(), strict=True
    ):
        row["risk_assessment"] = assessment
        for lead in row["leads"]:
            lead["product_codes"] = codes
        people[case] = row
    export.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    cache = _seal(root, export)
    return World(BuiltCache(cache, rows), catalogue, people, risky, mild)


def _apply(catalogue: Catalogue, store: Path, work: Path) -> None:
    key = Ed25519PrivateKey.generate()
    publish_catalogue(catalogue, key, work)
    pull_catalogue(work.resolve().as_uri() + "/", store, hq_public=key.public_key(), progress=False)


EXPECTED = {
    "too_high": ("risk_too_high", {"risk_too_high"}),
    "expired": ("assessment_expired", {"assessment_expired"}),
    "none": ("no_assessment", {"no_assessment"}),
    "suitable": (None, {"suitable"}),
}


def test_briefs_judge_lead_products_and_the_hub_refuses_pitching(
    tmp_path: Path, world: World
) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")
    _apply(world.catalogue, tmp_path / "hub" / "catalogue", tmp_path / "hq-catalogue")

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(), world.cache) as run:
            await _indexed(run)
            kiosk = tls.client_context("K1", "kiosk")
            logins = {n: run.staff(n) for n in ("wealth", "account", "teller", "lobby")}
            async with aiohttp.ClientSession() as http:

                async def call(method: str, path: str, who: str, **kw: Any) -> tuple[int, Any]:
                    ssl, headers = logins[who]
                    url = f"{run.url}/api/v1{path}"
                    async with http.request(method, url, ssl=ssl, headers=headers, **kw) as resp:
                        return resp.status, await resp.json()

                async def arrive(customer: dict[str, Any]) -> str:
                    session = await run.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
                    body = {"service": "cash", "session_id": session.session_id}
                    url = f"{run.url}/api/v1/kiosk/tickets"
                    async with http.post(url, json=body, ssl=kiosk) as resp:
                        number = (await resp.json())["ticket"]["number"]
                    _, listed = await call("GET", "/visits?state=all", "wealth")
                    return str(
                        next(v for v in listed["visits"] if v["ticket"]["number"] == number)[
                            "visit_id"
                        ]
                    )

                visits = {case: await arrive(c) for case, c in world.people.items()}
                for case, vid in visits.items():
                    await _check_brief(call, case, vid, world)
                await _check_redaction(call, visits["too_high"], world)
                await _check_refusals(call, run, visits)

    asyncio.run(scenario())


async def _indexed(run: Any) -> None:
    """Wait for the hub to index the catalogue applied before it started."""
    for _ in range(400):
        if run.hub.catalogue.facts() is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the hub did not index its catalogue")


async def _check_brief(call: Any, case: str, vid: str, world: World) -> None:
    status, body = await call("GET", f"/visits/{vid}/brief", "wealth")
    assert status == 200
    brief = Brief.from_wire(body)
    reason, verdicts = EXPECTED[case]
    for lead in brief.leads:
        assert lead.not_suitable_reason == reason, case
        assert {p.suitability for p in lead.products} == verdicts, case
        codes = [p.code for p in lead.products]
        assert codes == world.people[case]["leads"][0]["product_codes"]
        for product in lead.products:
            facts = world.catalogue.product(product.code)
            assert facts is not None
            assert (product.name_zh, product.risk, product.on_sale) == (
                facts.name_zh, facts.risk, True,
            )  # fmt: skip


async def _check_redaction(call: Any, vid: str, world: World) -> None:
    """Roles that must not see the risk level get the verdict but never the level."""
    for who in ("account", "teller", "lobby", "wealth"):
        status, body = await call("GET", f"/visits/{vid}/brief", who)
        assert status == 200
        text = json.dumps(body, ensure_ascii=False)
        verdicts = {p["suitability"] for lead in body["leads"] for p in lead["products"]}
        assert verdicts == {"risk_too_high"}, who
        if who == "wealth":
            assert body["risk_assessment"]["level"] == "C2"
            continue
        assert body["risk_assessment"] is None
        assert '"C2"' not in text, who
        assert "谨慎型" not in text, who


async def _check_refusals(call: Any, run: Any, visits: dict[str, str]) -> None:
    vid = visits["too_high"]
    _, brief = await call("GET", f"/visits/{vid}/brief", "wealth")
    first, second = brief["leads"][0]["lead_id"], brief["leads"][-1]["lead_id"]
    path = f"/visits/{vid}/leads/{first}/outcome"
    body = {"outcome": "accepted", "request_id": "suit-1"}
    for _ in range(2):  # the retry of a refused request is judged again: the same refusal
        status, answer = await call("POST", path, "wealth", json=body)
        assert (status, answer["error"]["code"]) == (409, "lead_not_suitable")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in answer["error"]["message_zh"])
    later = (_today() + timedelta(days=5)).isoformat()
    follow = {"outcome": "follow_up", "follow_up_on": later}
    status, answer = await call("POST", path, "wealth", json=follow)
    assert (status, answer["error"]["code"]) == (409, "lead_not_suitable")
    status, answer = await call("POST", path, "wealth", json={"outcome": "not_suitable"})
    assert (status, answer["outcome"]) == (201, "not_suitable")
    # A suitable customer's lead is accepted, and the retry gets the first answer.
    _, ok = await call("GET", f"/visits/{visits['suitable']}/brief", "wealth")
    ok_path = f"/visits/{visits['suitable']}/leads/{ok['leads'][0]['lead_id']}/outcome"
    body = {"outcome": "accepted", "request_id": "suit-2"}
    first_answer = await call("POST", ok_path, "wealth", json=body)
    assert first_answer[0] == 201
    assert await call("POST", ok_path, "wealth", json=body) == first_answer
    assert second  # the other leads stay refusable alike
    await asyncio.get_running_loop().run_in_executor(None, run.hub.relay.flush)
    refused = [e for e in run.hub.audit.entries() if e.action == "suitability_refused"]
    assert len(refused) == 3
    detail = refused[0].detail
    customer = next(
        c for c in run.hub.lobby.visits.of_day(_today().isoformat()) if c.visit_id == vid
    )
    assert (detail["lead_id"], detail["reason"]) == (first, "risk_too_high")
    assert (detail["product_risk"], detail["outcome"]) == ("R4", "accepted")
    assert detail["product_codes"]
    text = json.dumps([e.detail for e in refused], ensure_ascii=False)
    assert customer.customer_id is not None
    record = await run.hub.lobby.record_of(customer)
    assert record["name"] not in text
    assert record["id_number"] not in text
