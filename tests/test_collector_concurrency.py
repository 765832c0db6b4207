"""Many branches posting at once: each event is stored exactly once, on either store.

Real collector processes (`branch-sync collector`, TLS on loopback); threads post overlapping
signed events, each event by several threads at the same moment (a hub resending after a lost
acknowledgement, or two hubs' retries meeting). On PostgreSQL two collector processes share one
database, as HQ would run them behind a load balancer. Nothing is lost, nothing stored twice,
exactly one delivery of each event is answered as new, every other as a duplicate.
"""

from __future__ import annotations

import base64
import json
import random
import threading
from collections import Counter
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.anchor import AnchorStore
from sync.collector import EVENT_CONTEXT
from sync.collector_store import CollectorStore
from tests.outbox_support import Hq

DAY = "2026-03-02"
BRANCHES = 4
EVENTS = 40  # per branch
THREADS = 8
COPIES = 3  # threads posting each event


def _branch_keys(folder: Path) -> tuple[dict[str, Ed25519PrivateKey], dict[str, Path]]:
    keys, pubs = {}, {}
    folder.mkdir(parents=True)
    for n in range(BRANCHES):
        branch = f"B{n:03d}"
        keys[branch] = Ed25519PrivateKey.generate()
        pubs[branch] = folder / f"{branch}.pub"
        pubs[branch].write_bytes(
            keys[branch]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return keys, pubs


def _request(branch: str, key: Ed25519PrivateKey, n: int) -> tuple[str, bytes, dict[str, str]]:
    ikey = f"{branch}:claim:{n}"
    env = {"v": 1, "idempotency_key": ikey, "branch_id": branch, "kind": "claim",
           "at": f"{DAY}T02:00:00+00:00", "business_day": DAY,
           "payload": {"customer_id": f"C{n:07d}", "staff_id": "S001"}}  # fmt: skip
    body = json.dumps(env).encode()
    sig = base64.b64encode(key.sign(EVENT_CONTEXT + body)).decode()
    return ikey, body, {"Idempotency-Key": ikey, "Branch-Id": branch, "Branch-Signature": sig}


def _post_all(
    urls: list[str], ca: Path, work: list[tuple[str, bytes, dict[str, str]]]
) -> tuple[Counter[int], Counter[str]]:
    """Each event posted by COPIES threads at once, alternating collectors: statuses, new keys."""
    answers: Counter[int] = Counter()
    new: Counter[str] = Counter()
    lock, start = threading.Lock(), threading.Barrier(THREADS)
    order = random.Random(7).sample(work, len(work))

    def run(t: int) -> None:
        # One shared order: the threads holding an event post it at about the same moment.
        mine = [w for w in order if (hash(w[0]) + t) % THREADS < COPIES]
        session = requests.Session()
        start.wait(30)
        for i, (ikey, body, headers) in enumerate(mine):
            url = urls[(i + t) % len(urls)]
            resp = session.post(f"{url}/v1/events", data=body, headers=headers, verify=str(ca),
                                timeout=30)  # fmt: skip
            with lock:
                answers[resp.status_code] += 1
                if resp.status_code == 201:
                    new[ikey] += 1
        session.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    return answers, new


def test_concurrent_overlapping_posts_are_stored_exactly_once(
    tmp_path: Path, collector_database: str | None
) -> None:
    keys, pubs = _branch_keys(tmp_path / "branches")
    work = [_request(b, k, n) for b, k in keys.items() for n in range(EVENTS)]
    (tmp_path / "hq").mkdir()
    hqs = [Hq(tmp_path / "hq", pubs, collector_database)]
    if collector_database is not None:  # a second collector process on the same database
        (tmp_path / "hq2").mkdir()
        hqs.append(Hq(tmp_path / "hq2", pubs, collector_database))
        hqs[1].ca, hqs[1].cert, hqs[1].key = hqs[0].ca, hqs[0].cert, hqs[0].key
    try:
        for hq in hqs:
            hq.start()
        answers, new = _post_all([hq.url for hq in hqs], hqs[0].ca, work)
    finally:
        for hq in hqs:
            hq.stop()
    posted = answers[200] + answers[201]
    assert set(answers) <= {200, 201}, answers  # no 409, no 5xx
    assert set(new.values()) == {1}  # no event answered as new twice
    assert len(new) == answers[201] == len(work)  # each event new exactly once
    assert posted > len(work)  # the threads did overlap
    store = CollectorStore(hqs[0].store_target)
    with store.database.read() as tx:
        rows = tx.all("SELECT idempotency_key, deliveries FROM events")
    assert store.counts() == {"events": len(work), "deliveries": posted, "conflicts": 0}
    store.close()
    assert sorted(k for k, _ in rows) == sorted(w[0] for w in work)  # 0 lost, 0 duplicated
    assert sum(d for _, d in rows) == posted


def test_threads_racing_on_one_store_keep_each_event_once(
    tmp_path: Path, collector_database: str | None
) -> None:
    """Without HTTP in between: every thread stores the same events at the same moment."""
    store = CollectorStore(collector_database or tmp_path / "collector.db")
    envs = [json.loads(_request("B000", Ed25519PrivateKey.generate(), n)[1]) for n in range(30)]
    new: Counter[str] = Counter()
    lock, start = threading.Lock(), threading.Barrier(THREADS)

    def run() -> None:
        start.wait(30)
        for env in envs:
            if store.receive(env):
                with lock:
                    new[env["idempotency_key"]] += 1

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    counts = store.counts()
    store.close()
    assert dict(new) == {env["idempotency_key"]: 1 for env in envs}
    assert counts == {"events": len(envs), "deliveries": len(envs) * THREADS, "conflicts": 0}


def test_uploads_of_one_day_racing_leave_one_whole_batch(
    tmp_path: Path, collector_database: str | None
) -> None:
    """A hub's retries of a day's batch meeting at HQ: each upload whole, none interleaved."""
    store = CollectorStore(collector_database or tmp_path / "collector.db")
    key = Ed25519PrivateKey.generate()
    envs = [json.loads(_request("B000", key, n)[1]) for n in range(50)]
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run(t: int) -> None:
        start.wait(30)
        try:
            for _ in range(3):
                store.receive_batch("B000", DAY, f"sha-{t}", envs)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    report = store.reconcile("B000", DAY)
    counts = store.counts()
    store.close()
    assert errors == []
    assert (report.in_batch, report.duplicate) == (len(envs), [])
    assert report.missing == sorted(e["idempotency_key"] for e in envs)  # none came live
    assert counts["events"] == len(envs)  # recovered from the batch, each once


def test_one_head_posted_at_once_is_new_once(
    tmp_path: Path, collector_database: str | None
) -> None:
    """A branch's audit head arriving twice at the same moment: one `new`, the rest `same`."""
    anchors = AnchorStore(collector_database or tmp_path / "collector.db")
    head = {"branch_id": "B000", "seq": 7, "chain_mac": "a" * 64, "head_mac": "b" * 64,
            "at": f"{DAY}T02:00:00+00:00", "prev_seq": None, "prev_chain_mac": None}  # fmt: skip
    lock, start = threading.Lock(), threading.Barrier(THREADS)
    verdicts: Counter[str] = Counter()

    def run() -> None:
        start.wait(30)
        verdict = anchors.receive(head)
        with lock:
            verdicts[verdict] += 1

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    alarms = anchors.alarms("B000")
    anchors.close()
    assert verdicts == Counter({"new": 1, "same": THREADS - 1})
    assert alarms == 0
