"""A small synthetic catalogue published by HQ's own tools and applied to a hub's store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.catalogue_bundle import publish_catalogue
from sync.catalogue_pull import pull_catalogue
from sync.catalogue_synth import generate_catalogue

__all__ = ["apply_catalogue"]


def apply_catalogue(store: Path, work: Path, products: int = 20, articles: int = 30) -> None:
    """Publish a catalogue on sale today into `work` and pull it (file://) into `store`."""
    key = Ed25519PrivateKey.generate()
    catalogue = generate_catalogue(products, articles, seed=11, as_of=datetime.now(UTC).date())
    publish_catalogue(catalogue, key, work)
    pull_catalogue(work.resolve().as_uri() + "/", store, hq_public=key.public_key(), progress=False)
