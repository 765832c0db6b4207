"""The cache bench's data: the next night's export, and identifiers sampled to look up."""

from __future__ import annotations

import os
import random
from datetime import date
from pathlib import Path

import orjson

from branch_common.identifiers import gb11643_check_char, luhn_check_digit
from sync.bundle import identifiers_of

AS_OF = date(2026, 11, 1)


def _new_pan(rng: random.Random) -> str:
    partial = "622202" + "".join(rng.choice("0123456789") for _ in range(12))
    return partial + luhn_check_digit(partial)


def _new_id(rng: random.Random, old: str) -> str:
    first17 = old[:14] + f"{rng.randrange(1000):03d}"
    return first17 + gb11643_check_char(first17)


def make_delta_export(src: Path, dst: Path, seed: int) -> dict[str, int]:
    """Write a second export: ~8 % changed, ~1 % deleted, ~1 % new customers (sorted)."""
    rng = random.Random(seed)
    counts = {"changed": 0, "deleted": 0, "added": 0}
    added: list[bytes] = []
    with src.open("rb") as fin, dst.open("wb") as fout:
        for n, line in enumerate(fin):
            r = rng.random()
            if r < 0.01:
                counts["deleted"] += 1
                continue
            if r < 0.09 or r > 0.99:
                c = orjson.loads(line)
                if r < 0.09:
                    c["aum"] = round(c["aum"] * 1.07 + 100, 2)
                    c["last_visit"] = AS_OF.isoformat()
                    counts["changed"] += 1
                    line = orjson.dumps(c) + b"\n"
                else:
                    c["customer_id"] = f"N{n:010d}"
                    c["id_number"] = _new_id(rng, c["id_number"])
                    c["cards"] = [{**c["cards"][0], "pan": _new_pan(rng)}]
                    c["passbooks"] = []
                    added.append(orjson.dumps(c) + b"\n")
                    counts["added"] += 1
            fout.write(line)
        fout.writelines(added)  # "N…" sorts after "C…": the export stays sorted
    return counts


def sample_identifiers(
    export: Path, hits: int, misses: int, seed: int
) -> list[tuple[str, str, bool]]:
    """Reservoir-sample identifiers present in the export and make identifiers that are not."""
    rng = random.Random(seed)
    reservoir: list[tuple[str, str]] = []
    seen = 0
    with export.open("rb") as fh:
        for line in fh:
            ids = identifiers_of(orjson.loads(line))
            kind, value = ids[int(rng.random() * len(ids))]
            seen += 1
            if len(reservoir) < hits:
                reservoir.append((kind, value))
            else:
                j = int(rng.random() * seen)
                if j < hits:
                    reservoir[j] = (kind, value)
    out = [(k, v, True) for k, v in reservoir]
    for i in range(misses):
        if i % 2:
            out.append(("pan", "999999" + f"{rng.getrandbits(40):013d}", False))
        else:
            out.append(("id_number", _new_id(rng, "990101" + "19700101" + "000"), False))
    rng.shuffle(out)
    return out


Queries = list[tuple[str, str, bool]]


def lookups_of(
    export: Path, delta_export: Path, seed: int, lookups: int
) -> tuple[Queries, Queries]:
    """Identifiers to look up on each side, then the exports' pages dropped from the page cache."""
    # Identify against the delta-applied cache; the plain baseline holds the snapshot rows, so
    # it looks up identifiers sampled from the snapshot export (same hit/miss mix, same sizes).
    hits, misses = lookups * 9 // 10, lookups - lookups * 9 // 10
    ours_q = sample_identifiers(delta_export, hits, misses, seed + 2)
    plain_q = sample_identifiers(export, hits, misses, seed + 3)
    # At 5M the two exports (11 GB) would push the two databases' pages (14 GB) out of memory,
    # the one read first more than the other; neither export is what is measured.
    for path in (delta_export, export):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return ours_q, plain_q


def read_in_turn(files: list[Path]) -> None:
    """Read the files through, one MiB of each in turn, so none is older in the page cache."""
    handles = [f.open("rb") for f in files]
    try:
        while [h for h in handles if h.read(1 << 20)]:
            pass
    finally:
        for h in handles:
            h.close()
