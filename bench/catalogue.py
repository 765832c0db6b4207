"""Benchmark the catalogue bundle: publish and pull times, against copying the files, same run.

python -m bench.catalogue [--products N] [--articles N]

Generates a synthetic catalogue, publishes it (validation, chunking, signing), pulls it over
HTTPS on loopback into a fresh store (download, hash checks, every item parsed, every image
decoded, atomic switch), then changes 1 % of the products and pulls the delta. The baseline
copies the published folder with shutil.copytree (what a pull without checks would at least
cost on this disk). The last line is JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.catalogue_bundle import publish_catalogue
from sync.catalogue_model import Catalogue
from sync.catalogue_pull import pull_catalogue
from sync.catalogue_synth import generate_catalogue
from sync.static_server import StaticServer, make_test_pki


def _changed(cat: Catalogue, share: float) -> Catalogue:
    step = max(1, round(1 / share))
    products = tuple(
        dataclasses.replace(p, yield_basis_zh=p.yield_basis_zh + "（已更新）")
        if i % step == 0
        else p
        for i, p in enumerate(cat.products)
    )
    return Catalogue(products, cat.articles, cat.assets)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON figures last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=3000)
    parser.add_argument("--articles", type=int, default=30000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        cat = generate_catalogue(args.products, args.articles, seed=1, as_of=date(2026, 5, 1))
        synth_s = time.perf_counter() - started
        key = Ed25519PrivateKey.generate()
        www = root / "www"
        started = time.perf_counter()
        first = publish_catalogue(cat, key, www)
        publish_s = time.perf_counter() - started
        started = time.perf_counter()
        shutil.copytree(www, root / "copy")
        copy_s = time.perf_counter() - started
        ca, cert, pem = make_test_pki(root / "pki")
        with StaticServer(www, cert, pem) as server:

            def pull() -> float:
                began = time.perf_counter()
                pull_catalogue(server.url, root / "store", hq_public=key.public_key(), ca_file=ca)
                return time.perf_counter() - began

            pull_s = pull()
            started = time.perf_counter()
            delta = publish_catalogue(_changed(cat, 0.01), key, www)
            delta_publish_s = time.perf_counter() - started
            delta_pull_s = pull()
    figures = {
        "products": args.products,
        "articles": args.articles,
        "files": len(cat.assets),
        "bundle_bytes": first.bytes,
        "chunks": first.chunks,
        "synth_s": round(synth_s, 3),
        "publish_s": round(publish_s, 3),
        "pull_s": round(pull_s, 3),
        "copy_s": round(copy_s, 4),
        "pull_vs_copy_ratio": round(pull_s / max(copy_s, 1e-6), 1),
        "delta_new_chunks": delta.new_chunks,
        "delta_new_bytes": delta.new_bytes,
        "delta_publish_s": round(delta_publish_s, 3),
        "delta_pull_s": round(delta_pull_s, 3),
        "delta_vs_full_pull_ratio": round(delta_pull_s / pull_s, 3),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
