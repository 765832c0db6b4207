"""Headquarters' side of the simulated branch: its keys, customer exports and outcome collector."""

from __future__ import annotations

import sqlite3
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from branch_hub.pki import write_private_key
from sync.catalogue_bundle import publish_catalogue
from sync.catalogue_cli import write_catalogue_dir
from sync.catalogue_synth import generate_catalogue
from sync.synth import SynthOptions, generate
from sync.synth_products import CatalogueRef, read_catalogue_refs

__all__ = [
    "collector_command",
    "collector_counts",
    "make_keys",
    "publish_demo_catalogue",
    "retier_and_add",
    "synth_options",
    "write_export",
]

REGION = "110105"  # Chaoyang, Beijing: the demo branch's district


def make_keys(hq: Path, hub_data: Path) -> tuple[Ed25519PrivateKey, X25519PrivateKey]:
    """Create HQ's bundle-signing key (public half in `hq`) and the hub's sync key (in its data)."""
    hq_key = Ed25519PrivateKey.generate()
    (hq / "hq_signing.pub").write_bytes(
        hq_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    hub_sync = X25519PrivateKey.generate()
    pem = hub_sync.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for folder in (hub_data / "keys", hub_data / "cache"):
        folder.mkdir(parents=True, exist_ok=True)
        write_private_key(folder / "hub_sync.key", pem)
    return hq_key, hub_sync


def synth_options(
    customers: int, seed: int, catalogue: tuple[CatalogueRef, ...] = ()
) -> SynthOptions:
    """Options of a synthetic export of the branch's district as of today; leads name `catalogue`."""
    return SynthOptions(
        customers=customers,
        seed=seed,
        region_code=REGION,
        as_of=date.today(),
        catalogue=catalogue,
    )


def publish_demo_catalogue(
    hq: Path, key: Ed25519PrivateKey, products: int, articles: int, seed: int
) -> tuple[CatalogueRef, ...]:
    """Write HQ's catalogue source (hq/catalogue) and publish it signed into hq/pub/catalogue.

    Returns the products the export's leads may name (what `branch-sync synth --catalogue` reads).
    """
    source = hq / "catalogue"
    catalogue = generate_catalogue(products, articles, seed, date.today())
    write_catalogue_dir(catalogue, source)
    # Its own folder: the catalogue has a latest.json, manifests/ and chunks/ as the bundles do.
    publish_catalogue(catalogue, key, hq / "pub" / "catalogue")
    return read_catalogue_refs(source)


def retier_and_add(
    customers: list[dict[str, Any]],
    *,
    changed: int,
    added: int,
    seed: int,
    catalogue: tuple[CatalogueRef, ...] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Move the first `changed` customers up a tier and add `added` new ones; return all and new."""
    rows = [dict(c) for c in customers]
    for c in rows[:changed]:
        c["tier"] = "wealth" if c["tier"] != "wealth" else "private"
    base = len(rows)
    new: list[dict[str, Any]] = []
    for i, c in enumerate(generate(synth_options(added, seed, catalogue))):
        c["customer_id"] = f"C{base + i + 9_000_000_000:010d}"  # sorts after every existing id
        new.append(c)
    return rows + new, new


def write_export(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write customers as HQ's JSON-lines export."""
    with path.open("wb") as fh:
        for c in rows:
            fh.write(orjson.dumps(c) + b"\n")


def collector_command(
    port: int, db: Path, cert: Path, key: Path, branch: str, outcome_key: Path
) -> list[str]:
    """Return the command that runs HQ's outcome collector on loopback."""
    return [
        sys.executable,
        "-m",
        "sync.cli",
        "collector",
        "--listen",
        f"127.0.0.1:{port}",
        "--db",
        str(db),
        "--cert",
        str(cert),
        "--key",
        str(key),
        "--branch-key",
        f"{branch}={outcome_key}",
    ]


def collector_counts(db: Path) -> dict[str, int]:
    """Outcome events HQ stored, by kind, and redeliveries it deduplicated."""
    if not db.exists():
        return {}
    con = sqlite3.connect(db, timeout=5)
    try:
        rows = con.execute("SELECT kind, COUNT(*), SUM(deliveries) FROM events GROUP BY kind")
        out: dict[str, int] = {}
        for kind, n, deliveries in rows:
            out[kind] = int(n)
            out[f"{kind}_deliveries"] = int(deliveries or 0)
        out["conflicts"] = int(con.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0])
        return out
    finally:
        con.close()
