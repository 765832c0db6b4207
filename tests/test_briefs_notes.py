"""VisitNotes: notes, claims, hand-offs and lead outcomes, sealed at rest and durable."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from branch_hub.atrest import AtRestCipher
from branch_hub.briefs import (
    AlreadyClaimed,
    InvalidEntry,
    NotClaimHolder,
    NotesStoreError,
    VisitNotes,
)
from branch_hub.vocabulary import NOTE_MAX_CHARS

KEY = bytes(range(32))
AT = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)  # 10:30 in Beijing
DAY = date(2026, 3, 10)


@pytest.fixture
def notes(tmp_path: Path) -> Iterator[VisitNotes]:
    store = VisitNotes(tmp_path / "notes.db", AtRestCipher(KEY))
    yield store
    store.close()


def test_notes_by_visit_and_by_customer(notes: VisitNotes) -> None:
    notes.add_note("V1", by="S1", role="lobby_manager", text="客户赶时间", customer_id="C1", at=AT)
    notes.add_note("V2", by="S2", role="teller", text="另一位客户", customer_id="C2", at=AT)
    notes.add_note(
        "V3", by="S3", role="wealth_manager", text="同一客户第二次取号", customer_id="C1", at=AT
    )
    assert [n.text for n in notes.notes_for("V1", DAY)] == ["客户赶时间"]
    assert [n.text for n in notes.notes_for(None, DAY, customer_id="C1")] == [
        "客户赶时间",
        "同一客户第二次取号",
    ]
    both = notes.notes_for("V2", DAY, customer_id="C1")
    assert [n.visit_id for n in both] == ["V1", "V2", "V3"]
    assert notes.notes_for("V1", date(2026, 3, 11)) == []
    first = both[0]
    assert (first.by, first.role, first.at, first.customer_id) == ("S1", "lobby_manager", AT, "C1")
    assert "客户" not in repr(first)
    assert "C1" not in repr(first)


def test_business_day_follows_the_branch_zone(notes: VisitNotes) -> None:
    late = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 00:30 on 11 March in Beijing
    notes.add_note("V1", by="S1", role="teller", text="x", at=late)
    assert notes.notes_for("V1", DAY) == []
    assert len(notes.notes_for("V1", date(2026, 3, 11))) == 1


def test_note_for_a_role_is_kept(notes: VisitNotes) -> None:
    notes.add_note(
        "V1", by="S1", role="lobby_manager", text="请理财经理接待", for_role="wealth_manager", at=AT
    )
    (note,) = notes.notes_for("V1", DAY)
    assert note.for_role == "wealth_manager"
    assert note.to_brief()["for_role"] == "wealth_manager"


def test_claims_are_exclusive(notes: VisitNotes) -> None:
    assert notes.claimed_by("V1") is None
    claim = notes.claim("V1", staff_id="S1", role="wealth_manager", at=AT)
    assert (claim.staff_id, claim.role, claim.at) == ("S1", "wealth_manager", AT)
    assert notes.claim("V1", staff_id="S1", role="wealth_manager") == claim  # idempotent
    with pytest.raises(AlreadyClaimed, match="visit V1 is already claimed by S1") as err:
        notes.claim("V1", staff_id="S2", role="teller")
    assert err.value.staff_id == "S1"
    assert notes.claimed_by("V1") == "S1"


def test_concurrent_claims_from_two_connections(tmp_path: Path) -> None:
    stores = [VisitNotes(tmp_path / "n.db", AtRestCipher(KEY)) for _ in range(2)]
    winners: list[str] = []
    losers: list[str] = []
    start = threading.Barrier(16)

    def attempt(i: int) -> None:
        start.wait()
        try:
            stores[i % 2].claim("V9", staff_id=f"S{i}", role="teller")
            winners.append(f"S{i}")
        except AlreadyClaimed as exc:
            losers.append(exc.staff_id)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(winners) == 1
    assert losers == winners * 15
    assert all(s.claimed_by("V9") == winners[0] for s in stores)
    for s in stores:
        s.close()


def test_release(notes: VisitNotes) -> None:
    notes.claim("V1", staff_id="S1", role="teller")
    with pytest.raises(NotClaimHolder, match="visit V1 is claimed by S1, not by S2"):
        notes.release("V1", staff_id="S2")
    notes.release("V1", staff_id="S1")
    assert notes.claimed_by("V1") is None
    with pytest.raises(NotClaimHolder, match="not claimed"):
        notes.release("V1", staff_id="S1")
    notes.claim("V1", staff_id="S2", role="teller")
    notes.release("V1", staff_id="S5", force=True)
    assert notes.claimed_by("V1") is None


def test_handoff_to_staff_and_to_role(notes: VisitNotes) -> None:
    notes.claim("V1", staff_id="S1", role="lobby_manager")
    entry = notes.handoff(
        "V1",
        by="S1",
        role="lobby_manager",
        to_staff_id="S2",
        note="想了解大额存单",
        customer_id="C1",
        at=AT,
    )
    assert entry.kind == "handoff"
    assert notes.claimed_by("V1") == "S2"
    notes.claim("V1", staff_id="S2", role="wealth_manager")  # the receiver may confirm
    with pytest.raises(NotClaimHolder):
        notes.handoff("V1", by="S1", role="lobby_manager", to_role="teller")
    notes.handoff("V1", by="S2", role="wealth_manager", to_role="teller", at=AT)
    assert notes.claimed_by("V1") is None
    notes.claim("V1", staff_id="S7", role="teller")
    notes.handoff(
        "V1", by="S7", role="teller", to_staff_id="S8", to_staff_role="account_manager", at=AT
    )
    claim = notes.claim_of("V1")
    assert claim is not None
    assert (claim.staff_id, claim.role) == ("S8", "account_manager")
    kinds = [(n.kind, n.to_staff_id, n.to_role, n.text) for n in notes.notes_for("V1", DAY)]
    assert kinds == [
        ("handoff", "S2", None, "想了解大额存单"),
        ("handoff", None, "teller", ""),
        ("handoff", "S8", None, ""),
    ]
    assert notes.notes_for(None, DAY, customer_id="C1")[0].text == "想了解大额存单"


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"to_staff_id": "S2", "to_role": "teller"}, {"to_role": "janitor"}],
)
def test_bad_handoffs(notes: VisitNotes, kwargs: dict[str, str]) -> None:
    with pytest.raises(InvalidEntry):
        notes.handoff("V1", by="S1", role="teller", **kwargs)


def test_lead_outcomes(notes: VisitNotes) -> None:
    entry = notes.record_outcome(
        "V1",
        "L1",
        "follow_up",
        by="S2",
        role="wealth_manager",
        note="下周回电",
        follow_up_on="2026-03-17",
        at=AT,
    )
    assert (entry.lead_id, entry.outcome, entry.text) == ("L1", "follow_up", "下周回电")
    notes.record_outcome("V1", "L2", "accepted", by="S2", role="wealth_manager", at=AT)
    got = [(n.lead_id, n.outcome) for n in notes.notes_for("V1", DAY)]
    assert got == [("L1", "follow_up"), ("L2", "accepted")]
    with pytest.raises(
        InvalidEntry, match="outcome must be one of accepted, declined, follow_up, not_suitable"
    ):
        notes.record_outcome("V1", "L1", "maybe", by="S2", role="wealth_manager")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "   "}, "must not be empty"),
        ({"text": "x" * (NOTE_MAX_CHARS + 1)}, f"limited to {NOTE_MAX_CHARS} characters"),
        ({"text": "a\x00b"}, "NUL"),
        ({"text": 5}, "must be a string"),
        ({"role": "janitor"}, "role must be one of"),
        ({"by": ""}, "staff_id must be a non-empty string"),
        ({"by": "S\n1"}, "control characters"),
        ({"at": datetime(2026, 3, 10, 10)}, "timezone-aware"),
        ({"for_role": "boss"}, "for_role must be one of"),
    ],
)
def test_bad_notes(notes: VisitNotes, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"by": "S1", "role": "teller", "text": "ok"}
    args.update(kwargs)
    with pytest.raises(InvalidEntry, match=message):
        notes.add_note("V1", **args)  # type: ignore[arg-type]


def test_no_plaintext_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    store = VisitNotes(path, AtRestCipher(KEY))
    note_text = "客户下月要给孩子交学费 PLAINTEXT-MARKER"
    store.add_note("V1", by="S1", role="teller", text=note_text, customer_id="C0000000042", at=AT)
    store.handoff(
        "V1",
        by="S1",
        role="teller",
        to_role="wealth_manager",
        note="HANDOFF-MARKER",
        customer_id="C0000000042",
        at=AT,
    )
    store.record_outcome(
        "V1",
        "L00000000421",
        "declined",
        by="S1",
        role="teller",
        note="OUTCOME-MARKER",
        customer_id="C0000000042",
        reason="has_similar",
        at=AT,
    )
    files = [p for p in tmp_path.iterdir() if p.name.startswith("notes.db")]
    assert any(p.name.endswith("-wal") for p in files)  # data still in the WAL counts too
    blobs = b"".join(p.read_bytes() for p in files)
    store.close()  # checkpoints the WAL into the main file
    blobs += path.read_bytes()
    for plain in (
        note_text,
        "PLAINTEXT-MARKER",
        "学费",
        "HANDOFF-MARKER",
        "OUTCOME-MARKER",
        "C0000000042",
        "0000000042",
        "L00000000421",
    ):
        assert plain.encode() not in blobs, plain
    reopened = VisitNotes(path, AtRestCipher(KEY))
    assert [n.text for n in reopened.notes_for(None, DAY, customer_id="C0000000042")] == [
        note_text,
        "HANDOFF-MARKER",
        "OUTCOME-MARKER",
    ]
    reopened.close()


def test_wrong_key_and_tampering(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    with VisitNotes(path, AtRestCipher(KEY)) as store:
        store.add_note("V1", by="S1", role="teller", text="甲", at=AT)
        store.add_note("V2", by="S1", role="teller", text="乙", at=AT)
    with pytest.raises(NotesStoreError, match="another at-rest key"):
        VisitNotes(path, AtRestCipher(bytes(32)))
    db = sqlite3.connect(path)
    (_a,), (b,) = db.execute("SELECT sealed FROM entries ORDER BY seq").fetchall()
    db.execute("UPDATE entries SET sealed = ? WHERE visit_id = 'V1'", (b,))  # move V2's body to V1
    db.commit()
    db.close()
    with VisitNotes(path, AtRestCipher(KEY)) as store:
        with pytest.raises(NotesStoreError, match="failed authentication"):
            store.notes_for("V1", DAY)
        assert [n.text for n in store.notes_for("V2", DAY)] == ["乙"]


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(NotesStoreError, match="cannot open the notes database"):
        VisitNotes(path, AtRestCipher(KEY))


def test_notes_for_needs_a_key(notes: VisitNotes) -> None:
    with pytest.raises(InvalidEntry):
        notes.notes_for(None, DAY)


_WRITER = """
import sys, time
from datetime import datetime, UTC
from pathlib import Path
from branch_hub.atrest import AtRestCipher
from branch_hub.briefs import VisitNotes
store = VisitNotes(Path(sys.argv[1]), AtRestCipher(bytes(range(32))))
store.claim("V1", staff_id="S1", role="teller")
store.add_note("V1", by="S1", role="teller", text="acknowledged", at=datetime(2026, 3, 10, 2, tzinfo=UTC))
print("ok", flush=True)
time.sleep(60)
"""


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ok"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with VisitNotes(path, AtRestCipher(KEY)) as store:
        assert store.claimed_by("V1") == "S1"
        assert [n.text for n in store.notes_for("V1", DAY)] == ["acknowledged"]
