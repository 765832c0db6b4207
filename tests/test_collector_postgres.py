"""HQ's collector on PostgreSQL as docs/operations.md tells HQ IT to start it, and its refusals.

The guide's commands run as written on a throwaway server: `runuser -u postgres --` becomes the
server's superuser, `/run/postgresql` its socket folder, and the collector logs in as the role
`hq-collector` (PGUSER) as peer authentication would make it on HQ's machine.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.collector import EVENT_CONTEXT
from sync.collector_store import CollectorStore
from sync.static_server import make_test_pki
from tests.outbox_support import Child, free_port
from tests.support.pgserver import PgServer

ROOT = Path(__file__).resolve().parent.parent
SECTION = "### HQ's collector on PostgreSQL"


def _guide_commands() -> list[str]:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", body, flags=re.S)
    assert block, "the section shows its commands"
    joined = re.sub(r"\\\n\s*", "", block.group(1))
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _sync(argv: list[str]) -> list[str]:
    """A guide's `branch-sync` command run by this checkout's interpreter."""
    assert argv[0] == "branch-sync"
    return [sys.executable, "-m", "sync.cli", *argv[1:]]


def _event(key: Ed25519PrivateKey) -> tuple[bytes, dict[str, str]]:
    env = {"v": 1, "idempotency_key": "B001:claim:1", "branch_id": "B001", "kind": "claim",
           "at": "2026-03-02T02:00:00+00:00", "business_day": "2026-03-02",
           "payload": {"customer_id": "C0000001", "staff_id": "S001"}}  # fmt: skip
    body = json.dumps(env).encode()
    sig = base64.b64encode(key.sign(EVENT_CONTEXT + body)).decode()
    return body, {"Idempotency-Key": "B001:claim:1", "Branch-Id": "B001", "Branch-Signature": sig}


def test_hq_it_starts_the_postgresql_collector_as_the_guide_says(
    tmp_path: Path, pg_server: PgServer
) -> None:
    create_role, create_db, collector, reconcile = _guide_commands()
    env = {**os.environ, "PGHOST": str(pg_server.folder), "PGUSER": "hq",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    for line in (create_role, create_db):  # as the server's superuser
        argv = shlex.split(line)
        assert argv[:4] == ["runuser", "-u", "postgres", "--"]
        subprocess.run([str(pg_server.bindir / argv[4]), *argv[5:]], env=env, check=True)
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "B001-outcome_signing.pub").write_bytes(pem)
    ca, cert, tls_key = make_test_pki(tmp_path / "pki")
    cert.rename(tmp_path / "hq.pem")
    tls_key.rename(tmp_path / "hq.key")
    port = free_port()
    as_role = {**env, "PGUSER": "hq-collector"}  # peer authentication's role on HQ's machine
    here = str(pg_server.folder)
    line = collector.replace("/run/postgresql", here).replace("0.0.0.0:9443", f"127.0.0.1:{port}")
    child = Child(_sync(shlex.split(line)), env=as_role, cwd=tmp_path)
    try:
        child.wait_for("listening on", 30)
        body, headers = _event(key)
        url = f"https://127.0.0.1:{port}/v1/events"
        for status in (201, 200):  # stored once, then a redelivery
            resp = requests.post(url, data=body, headers=headers, verify=str(ca), timeout=10)
            assert resp.status_code == status, resp.text
    finally:
        assert child.stop() == 0
    shown = subprocess.run(
        _sync(shlex.split(reconcile.replace("/run/postgresql", here))),
        env=as_role, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert shown.returncode == 1, shown.stderr  # no batch yet: not reconciled
    report = json.loads(shown.stdout)
    assert (report["live"], report["redeliveries"], report["batch_received"]) == (1, 1, False)
    owner_url = f"postgresql:///collector?host={here}&user=hq-collector"
    store = CollectorStore(owner_url)
    with store.database.read() as tx:
        owner = tx.one("SELECT tableowner FROM pg_tables WHERE tablename = 'events'")
    store.close()
    assert owner == ("hq-collector",)


def test_the_cli_refuses_a_store_it_cannot_use(tmp_path: Path) -> None:
    base = [
        sys.executable,
        "-m",
        "sync.cli",
        "reconcile",
        "--branch",
        "B001",
        "--day",
        "2026-03-02",
    ]
    cases = {
        "--database is a postgresql:// URL": ["--database", str(tmp_path / "collector.db")],
        "cannot open the collector's PostgreSQL database": [
            "--database", f"postgresql:///collector?host={tmp_path}",
        ],
        "not allowed with argument": ["--db", "a.db", "--database", "postgresql:///c"],
    }  # fmt: skip
    for words, extra in cases.items():
        done = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=60)
        assert done.returncode != 0
        assert words in done.stderr, done.stderr
