"""One vocabulary: every module that names roles, kinds, outcomes or limits takes them from it.

These names were once declared three to five times and had drifted (the note limit was 1000 in
the routes and 2000 in the notes store and the outbox).
"""

from __future__ import annotations

from branch_hub import vocabulary as v
from branch_hub.briefs import MAX_TEXT
from branch_hub.briefs._model import OUTCOMES as BRIEF_OUTCOMES
from branch_hub.config import STAFF_ROLES as CONFIG_ROLES
from branch_hub.outbox._store import MAX_NOTE
from branch_hub.outbox._store import OUTCOMES as OUTBOX_OUTCOMES
from branch_hub.security.roles import DEVICE_KINDS, ROLES, STAFF_DEVICE_KINDS


def test_one_note_limit() -> None:
    assert MAX_TEXT == MAX_NOTE == v.NOTE_MAX_CHARS


def test_one_set_of_roles_kinds_and_outcomes() -> None:
    assert set(CONFIG_ROLES) == set(ROLES) == set(v.Role)
    assert set(DEVICE_KINDS) == set(v.DeviceKind)
    assert STAFF_DEVICE_KINDS == v.STAFF_DEVICE_KINDS
    assert set(BRIEF_OUTCOMES) == set(OUTBOX_OUTCOMES) == set(v.LeadOutcome)


def test_words_serialise_as_themselves() -> None:
    import json

    assert json.dumps({"role": v.Role.TELLER, "kind": v.EventKind.CALLED}) == (
        '{"role": "teller", "kind": "called"}'
    )
