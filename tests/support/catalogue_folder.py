"""A tablet's catalogue folder built from HQ's synthetic catalogue: the index and the pictures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from branch_hub.client.catalogue_index import build_index
from sync.catalogue_model import Catalogue
from sync.catalogue_synth import generate_catalogue
from tablet.catalogue_source import INDEX_NAME

__all__ = ["BROKEN", "build_catalogue_folder"]

BROKEN = b"\x89PNG\r\n\x1a\n not a picture"  # a PNG signature, then nothing a decoder reads


def build_catalogue_folder(
    folder: Path, products: int = 80, articles: int = 60, broken: int = 1
) -> Catalogue:
    """Index a synthetic catalogue on sale today into `folder`; the first `broken` pictures of
    products on sale are replaced by bytes no decoder reads."""
    catalogue = generate_catalogue(products, articles, seed=11, as_of=datetime.now(UTC).date())
    folder.mkdir(parents=True, exist_ok=True)
    files = folder / "files"
    files.mkdir(exist_ok=True)
    for name, data in catalogue.assets.items():
        (files / name).write_bytes(data)
    today = datetime.now(UTC).date()
    pictured = [p for p in catalogue.products if p.image and p.on_sale(today)]
    for product in pictured[:broken]:
        (files / str(product.image)).write_bytes(BROKEN)
    build_index(
        folder / INDEX_NAME,
        [p.to_dict() for p in catalogue.products],
        [a.to_dict() for a in catalogue.articles],
        "synthetic",
    )
    return catalogue
