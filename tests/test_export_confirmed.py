"""HQ's confirmed purchases of leads: the export field's shapes, and the simulated core system
(`branch-sync confirm`) marking a deterministic share of the collector's accepted leads."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.catalogue_cli import write_catalogue_dir
from sync.catalogue_synth import generate_catalogue
from sync.cli import main as branch_sync
from sync.collector_store import CollectorStore
from sync.confirm import accepted_leads
from sync.export_fields import ExportFieldError
from sync.export_reader import parse_line
from sync.synth import SynthOptions, generate, write_export_file
from sync.synth_products import read_catalogue_refs

AS_OF = date(2026, 11, 1)
BASE = next(c for c in generate(SynthOptions(customers=20, seed=42, as_of=AS_OF)) if c["leads"])
GOOD = {"purchased_on": "2026-10-30", "product": "FD2026A0001"}


def _with(confirmed: object) -> dict[str, Any]:
    leads = [dict(BASE["leads"][0], confirmed=confirmed), *BASE["leads"][1:]]
    return BASE | {"leads": leads}


@pytest.mark.parametrize("confirmed", [GOOD, None])
def test_a_confirmed_purchase_or_none_is_accepted(confirmed: object) -> None:
    assert parse_line(orjson.dumps(_with(confirmed)))[1] == BASE["customer_id"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ("2026-10-30", "leads.confirmed"),
        ([GOOD], "leads.confirmed"),
        (GOOD | {"amount": 500000}, "leads.confirmed"),
        ({"product": "FD2026A0001"}, "leads.confirmed.purchased_on"),
        (GOOD | {"purchased_on": "20261030"}, "leads.confirmed.purchased_on"),
        (GOOD | {"purchased_on": "2026-02-30"}, "leads.confirmed.purchased_on"),
        ({"purchased_on": "2026-10-30"}, "leads.confirmed.product"),
        (GOOD | {"product": "fd2026a0001"}, "leads.confirmed.product"),
        (GOOD | {"product": 20261030}, "leads.confirmed.product"),
    ],
)
def test_a_malformed_confirmation_is_named_never_quoted(bad: object, field: str) -> None:
    with pytest.raises(ExportFieldError) as info:
        parse_line(orjson.dumps(_with(bad)))
    assert info.value.field == field
    assert str(info.value).startswith(f"{field} must be ")
    for value in ("20261030", "2026-02-30", "fd2026a0001", "500000"):
        assert value not in str(info.value)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_NEAR = st.fixed_dictionaries(
    {},
    optional={
        "purchased_on": st.sampled_from(["2026-10-30", "2026-13-01", ""]) | _JSON,
        "product": st.sampled_from(["FD2026A0001", "WM1", "x"]) | _JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(_JSON | _NEAR)
def test_any_confirmation_is_accepted_or_named_never_a_crash(value: object) -> None:
    error: ExportFieldError | None = None
    try:
        parse_line(orjson.dumps(_with(value)))
    except ExportFieldError as exc:
        error = exc
    if error is not None:
        assert error.field.startswith("leads.confirmed")
        assert str(error).startswith(f"{error.field} must be ")


def _event(branch: str, day: date, n: int, payload: dict[str, Any]) -> dict[str, Any]:
    at = f"{day.isoformat()}T02:00:00.000+00:00"
    key = f"{branch}-V{n:04d}-lead-{payload['lead_id']}"
    return {"v": 1, "idempotency_key": key, "branch_id": branch, "kind": "lead_outcome",
            "at": at, "business_day": day.isoformat(), "payload": payload}  # fmt: skip


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict[str, Any]]]:
    """An export whose leads name catalogue products, and a collector store of their outcomes."""
    root = tmp_path_factory.mktemp("confirm")
    write_catalogue_dir(generate_catalogue(40, 0, seed=11, as_of=AS_OF), root / "catalogue")
    opts = SynthOptions(
        customers=300, seed=5, as_of=AS_OF, catalogue=read_catalogue_refs(root / "catalogue")
    )
    write_export_file(opts, root / "export.jsonl", workers=1, progress=False)
    rows = [orjson.loads(line) for line in (root / "export.jsonl").read_bytes().splitlines()]
    store = CollectorStore(root / "collector.db")
    outcomes = ("accepted", "declined", "accepted", "follow_up")
    for n, row in enumerate(rows):
        for m, lead in enumerate(row["leads"]):
            payload = {"customer_id": row["customer_id"], "lead_id": lead["lead_id"],
                       "outcome": outcomes[(n + m) % 4], "staff_id": "S1"}  # fmt: skip
            branch = "BJ-CY-0105" if n % 5 else "SH-PD-0001"
            store.receive(_event(branch, AS_OF - timedelta(days=n % 9), n, payload))
    store.close()
    return root / "collector.db", root / "export.jsonl", rows


def _run(db: Path, export: Path, out: Path, *extra: str) -> list[dict[str, Any]]:
    argv = ["confirm", "--collector-db", str(db), "--export", str(export), "--out", str(out)]
    assert branch_sync([*argv, "--as-of", AS_OF.isoformat(), *extra]) == 0
    return [orjson.loads(line) for line in out.read_bytes().splitlines()]


def _marks(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, str]]:
    return {
        (r["customer_id"], lead["lead_id"]): lead["confirmed"]
        for r in rows
        for lead in r["leads"]
        if lead.get("confirmed")
    }


def test_confirm_marks_a_deterministic_share_of_a_branchs_accepted_leads(
    hq: tuple[Path, Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    db, export, rows = hq
    accepted = {(a.customer_id, a.lead_id): a for a in accepted_leads(db, "BJ-CY-0105")}
    out = _run(db, export, tmp_path / "a.jsonl", "--branch", "BJ-CY-0105", "--share", "0.5")
    marks = _marks(out)
    assert set(marks) <= set(accepted)  # only this branch's accepted leads
    leads = {(r["customer_id"], lead["lead_id"]): lead for r in rows for lead in r["leads"]}
    for key, mark in marks.items():
        bought = date.fromisoformat(mark["purchased_on"])
        assert accepted[key].business_day < bought <= AS_OF
        assert bought - accepted[key].business_day <= timedelta(days=5)
        assert mark["product"] in leads[key]["product_codes"]
    eligible = [k for k in accepted if leads[k].get("product_codes")]
    assert 0.25 < len(marks) / len(eligible) < 0.5  # half, less those bought after as-of
    for line in out:
        parse_line(orjson.dumps(line))
    # Unchanged customers are copied byte for byte; the same seed marks the same leads.
    changed = {c for c, _ in marks}
    before = export.read_bytes().splitlines()
    after = (tmp_path / "a.jsonl").read_bytes().splitlines()
    assert [a for a, r in zip(after, out, strict=True) if r["customer_id"] not in changed] == [
        b for b, r in zip(before, rows, strict=True) if r["customer_id"] not in changed
    ]
    again = _run(db, export, tmp_path / "b.jsonl", "--branch", "BJ-CY-0105", "--share", "0.5")
    assert _marks(again) == marks
    other = _run(db, export, tmp_path / "c.jsonl", "--branch", "BJ-CY-0105", "--seed", "2")
    assert _marks(other) != marks


def test_a_later_run_keeps_earlier_confirmations(
    hq: tuple[Path, Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    db, export, _ = hq
    first = _marks(_run(db, export, tmp_path / "a.jsonl", "--share", "0.3"))
    more = _marks(_run(db, tmp_path / "a.jsonl", tmp_path / "b.jsonl", "--share", "0.6"))
    assert first.items() <= more.items()
    assert len(more) > len(first)
    assert _marks(_run(db, export, tmp_path / "c.jsonl", "--share", "0")) == {}


def test_confirm_refuses_what_it_cannot_use(
    hq: tuple[Path, Path, list[dict[str, Any]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, export, _ = hq
    argv = ["confirm", "--collector-db", str(tmp_path / "none.db"), "--export", str(export)]
    assert branch_sync([*argv, "--out", str(tmp_path / "x.jsonl")]) != 0
    assert "no such file" in capsys.readouterr().err
    argv = ["confirm", "--collector-db", str(db), "--export", str(export), "--out", str(export)]
    assert branch_sync(argv) != 0
    assert "--out must differ" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        branch_sync([*argv[:-1], str(tmp_path / "y.jsonl"), "--share", "1.5"])


def test_confirm_reads_the_collectors_postgresql_database(
    hq: tuple[Path, Path, list[dict[str, Any]]], tmp_path: Path, pg_url: str
) -> None:
    db, export, _ = hq
    lite = CollectorStore(db)
    envelopes = lite.events_of_kind("lead_outcome")
    lite.close()
    store = CollectorStore(pg_url)
    for envelope in envelopes:
        store.receive(envelope)
    store.close()
    assert accepted_leads(pg_url, "BJ-CY-0105") == accepted_leads(db, "BJ-CY-0105")
    argv = ["confirm", "--database", pg_url, "--export", str(export)]
    argv += ["--out", str(tmp_path / "pg.jsonl"), "--as-of", AS_OF.isoformat(), "--share", "0.5"]
    assert branch_sync(argv) == 0
    assert _marks(_run(db, export, tmp_path / "lite.jsonl", "--share", "0.5")) == _marks(
        [orjson.loads(line) for line in (tmp_path / "pg.jsonl").read_bytes().splitlines()]
    )


def test_confirm_names_a_database_it_cannot_read(
    hq: tuple[Path, Path, list[dict[str, Any]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, export, _ = hq
    argv = ["confirm", "--export", str(export), "--out", str(tmp_path / "x.jsonl"), "--database"]
    assert branch_sync([*argv, str(tmp_path / "collector.db")]) != 0
    assert "--database is a postgresql:// URL" in capsys.readouterr().err
    unreachable = f"postgresql:///collector?host={tmp_path}&connect_timeout=2"
    assert branch_sync([*argv, unreachable]) != 0
    assert "cannot open the collector's database" in capsys.readouterr().err
