"""`branch-sync catalogue synth|publish|pull`: HQ's product catalogue for every branch."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from sync.errors import CatalogueError, SyncError

__all__ = ["add_catalogue_commands", "read_catalogue_dir", "write_catalogue_dir"]


def write_catalogue_dir(catalogue: Any, folder: Path) -> None:
    """Write HQ's catalogue source: products.jsonl, articles.jsonl and files/."""
    (folder / "files").mkdir(parents=True, exist_ok=True)
    for name, items in (("products", catalogue.products), ("articles", catalogue.articles)):
        lines = b"".join(orjson.dumps(i.to_dict()) + b"\n" for i in items)
        (folder / f"{name}.jsonl").write_bytes(lines)
    for name, data in catalogue.assets.items():
        (folder / "files" / name).write_bytes(data)


def read_catalogue_dir(folder: Path) -> Any:
    """Read HQ's catalogue source folder, refusing a malformed line with its number."""
    from sync.catalogue_model import Catalogue, article_from_dict, product_from_dict

    parsed: dict[str, list[Any]] = {}
    for name, parse in (("products", product_from_dict), ("articles", article_from_dict)):
        path = folder / f"{name}.jsonl"
        if not path.is_file():
            raise SyncError(f"{path}: no such file")
        parsed[name] = []
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            try:
                parsed[name].append(parse(orjson.loads(line)))
            except (orjson.JSONDecodeError, CatalogueError) as exc:
                raise CatalogueError(f"{path.name} line {n}: {exc}") from None
    files = folder / "files"
    assets = {p.name: p.read_bytes() for p in files.iterdir()} if files.is_dir() else {}
    return Catalogue(tuple(parsed["products"]), tuple(parsed["articles"]), assets)


def add_catalogue_commands(sub: Any) -> None:
    """Add `catalogue` with its synth, publish and pull subcommands."""
    cat = sub.add_parser("catalogue", help="HQ's product catalogue and knowledge base")
    inner = cat.add_subparsers(dest="catalogue_command", required=True, metavar="COMMAND")
    synth = inner.add_parser("synth", help="write a synthetic catalogue source folder")
    synth.add_argument("--products", type=int, default=3000)
    synth.add_argument("--articles", type=int, default=30000)
    synth.add_argument("--seed", type=int, default=1)
    synth.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    synth.add_argument("--out", type=Path, required=True, help="catalogue source folder")
    synth.set_defaults(func=_synth)
    pub = inner.add_parser("publish", help="publish a signed catalogue bundle for all branches")
    pub.add_argument("--source", type=Path, required=True, help="catalogue source folder")
    pub.add_argument("--signing-key", type=Path, required=True, help="HQ's Ed25519 signing key")
    pub.add_argument("--out", type=Path, required=True, help="the catalogue publication folder")
    pub.set_defaults(func=_publish)
    pull = inner.add_parser("pull", help="pull, check and apply HQ's latest catalogue")
    pull.add_argument("--from", dest="url", required=True, help="https:// (or file://) base URL")
    pull.add_argument("--store", type=Path, required=True, help="the device's catalogue folder")
    pull.add_argument("--hq-pubkey", type=Path, required=True, help="HQ's signing public key")
    pull.add_argument("--ca-file", type=Path, default=None, help="HQ's CA certificate (pinned)")
    pull.add_argument("--retries", type=int, default=5, help="retries per download (default 5)")
    pull.set_defaults(func=_pull)


def _synth(args: argparse.Namespace) -> int:
    from sync.catalogue_synth import generate_catalogue

    if args.products < 0 or args.articles < 0:
        raise SyncError("--products and --articles must not be negative")
    cat = generate_catalogue(args.products, args.articles, args.seed, args.as_of or date.today())
    write_catalogue_dir(cat, args.out)
    print(f"wrote {len(cat.products)} products, {len(cat.articles)} articles, "
          f"{len(cat.assets)} files to {args.out}", file=sys.stderr)  # fmt: skip
    return 0


def _publish(args: argparse.Namespace) -> int:
    from sync.catalogue_bundle import publish_catalogue
    from sync.keys import load_signing_private

    if not args.source.is_dir():
        raise SyncError(f"--source {args.source}: no such folder")
    signing = load_signing_private(args.signing_key)
    r = publish_catalogue(read_catalogue_dir(args.source), signing, args.out)
    what = "unchanged at" if not r.changed else "published"
    print(f"catalogue {what} sequence {r.sequence}: {r.products} products, {r.articles} articles, "
          f"{r.files} files; {r.new_chunks} of {r.chunks} chunks new ({r.new_bytes} bytes)",
          file=sys.stderr)  # fmt: skip
    return 0


def _pull(args: argparse.Namespace) -> int:
    from sync.catalogue_pull import pull_catalogue
    from sync.keys import load_signing_public

    r = pull_catalogue(
        args.url, args.store, hq_public=load_signing_public(args.hq_pubkey),
        ca_file=args.ca_file, retries=args.retries,
    )  # fmt: skip
    seq = r.status.sequence if r.status else 0
    done = (
        f"applied ({r.fetched_chunks} chunks fetched, {r.reused_chunks} reused)"
        if r.applied
        else "nothing new"
    )
    print(f"catalogue pull: {done}; catalogue at sequence {seq}", file=sys.stderr)
    return 0
