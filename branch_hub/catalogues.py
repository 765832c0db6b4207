"""Keep the message catalogues in step with the code: `python -m branch_hub.catalogues [--check]`.

Without `--check` it extracts every marked string (`N_`, `_`, `ngettext`) from each package's
sources, merges them into each locale's `.po` (keeping translations, dropping text the code no
longer has) and compiles the `.mo` beside it. With `--check` it changes nothing and fails when a
string is missing from a catalogue or stale in it, a translation is empty or fuzzy, uses a
`{field}` the English lacks or a `%` placeholder that does not match, or a committed `.mo`
differs from compiling its `.po`.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from string import Formatter

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from branch_common.i18n import EN, LOCALES, Catalogue
from branch_common.wait_words import COMMON
from branch_hub.messages import HUB

# The apps ship their own catalogues; named by folder so the hub never imports an app.
_ROOT = Path(__file__).resolve().parent.parent
TABLET = Catalogue("tablet", _ROOT / "tablet")
KIOSK = Catalogue("kiosk", _ROOT / "kiosk")

__all__ = ["CATALOGUES", "check", "compiled", "extract_kv", "extracted", "main", "update"]

CATALOGUES: tuple[Catalogue, ...] = (HUB, TABLET, KIOSK, COMMON)
KEYWORDS = {"N_": None, "_": None, "ngettext": (1, 2)}
TRANSLATED = tuple(locale for locale in LOCALES if locale != EN)  # English is the msgid


# `_("…")` or `tr._('…')` in a kv rule: the string literal is the message.
_KV_CALL = re.compile(r"""(?<![\w.])(?:tr\.)?_\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)""")


def extract_kv(
    fileobj: io.BufferedIOBase,
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, object],
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor for kv files: every `_("…")` and `tr._("…")` of a rule."""
    for number, line in enumerate(fileobj.read().decode("utf-8").splitlines(), start=1):
        for literal in _KV_CALL.findall(line):
            yield number, "_", ast.literal_eval(literal), []


def extracted(catalogue: Catalogue) -> Catalog:
    """Every marked string in the package's sources, with where it was found."""
    skip = [(f"{folder}/**", "ignore") for folder in (*catalogue.exclude, "locale")]
    found = Catalog(project="branch-edge", fuzzy=False)
    method_map = [*skip, ("**.py", "python"), ("**.kv", "branch_hub.catalogues:extract_kv")]
    for filename, line, message, comments, context in extract_from_dir(
        str(catalogue.package_dir), method_map=method_map, keywords=KEYWORDS
    ):
        where = f"{catalogue.package_dir.name}/{filename}"
        found.add(message, locations=[(where, line)], auto_comments=comments, context=context)
    return found


def _ids(catalog: Catalog) -> set[str]:
    return {str(message.id) for message in catalog if message.id}


def _fields(text: str) -> set[str]:
    """The named fields of a `str.format` template."""
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def _read(path: Path, locale: str) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale)


def compiled(path: Path, locale: str) -> bytes:
    """The `.mo` bytes of one `.po` (deterministic: the same `.po` gives the same bytes)."""
    out = io.BytesIO()
    write_mo(out, _read(path, locale), use_fuzzy=False)
    return out.getvalue()


def _new_catalogue(catalogue: Catalogue, locale: str) -> Catalog:
    new = Catalog(
        locale=locale,
        domain=catalogue.domain,
        project="branch-edge",
        version=catalogue.domain,
        copyright_holder="branch-edge maintainers",
        msgid_bugs_address="",
        header_comment=f"# The {catalogue.domain} catalogue of branch-edge in {locale}: see docs/i18n.md.",
        fuzzy=False,
    )
    new.revision_date = new.creation_date
    return new


def update(catalogue: Catalogue) -> None:
    """Merge the extracted strings into every locale's `.po` and compile its `.mo`."""
    template = extracted(catalogue)
    for locale in TRANSLATED:
        po = catalogue.po_path(locale)
        if po.exists():
            merged = _read(po, locale)
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            merged = _new_catalogue(catalogue, locale)
        if _ids(merged) == _ids(template):  # unchanged text: no new date, no diff
            template.creation_date = merged.creation_date
        merged.update(template, no_fuzzy_matching=True)
        merged.obsolete.clear()
        with po.open("wb") as out:
            # No line numbers: a catalogue changes only when its text does.
            write_po(out, merged, width=100, sort_output=True, include_lineno=False)
        catalogue.mo_path(locale).write_bytes(compiled(po, locale))


def check(catalogue: Catalogue) -> list[str]:
    """What is wrong with the committed catalogues, one line per fault."""
    wanted = _ids(extracted(catalogue))
    faults: list[str] = []
    for locale in TRANSLATED:
        po, mo = catalogue.po_path(locale), catalogue.mo_path(locale)
        where = f"{catalogue.domain}/{locale}"
        if not po.exists():
            return [f"{where}: no {po}"]
        have = _read(po, locale)
        ids = _ids(have)
        faults += [f"{where}: not in the catalogue: {i!r}" for i in sorted(wanted - ids)]
        faults += [f"{where}: stale, the code no longer has: {i!r}" for i in sorted(ids - wanted)]
        for message in have:
            if message.id and (not message.string or message.fuzzy):
                faults.append(f"{where}: untranslated or fuzzy: {message.id!r}")
        for message in have:
            if message.id and not _fields(str(message.string)) <= _fields(str(message.id)):
                faults.append(f"{where}: a field the English lacks in {message.string!r}")
        for message, errors in have.check():
            faults += [f"{where}: {message.id!r}: {error}" for error in errors]
        if not mo.exists() or mo.read_bytes() != compiled(po, locale):
            faults.append(f"{where}: {mo.name} is not the compiled {po.name}: run ./run i18n")
    return faults


def main(argv: list[str] | None = None) -> int:
    """Update the catalogues, or with `--check` report what is out of step."""
    parser = argparse.ArgumentParser(prog="python -m branch_hub.catalogues")
    parser.add_argument("--check", action="store_true", help="change nothing; fail on any fault")
    args = parser.parse_args(argv)
    if not args.check:
        for catalogue in CATALOGUES:
            update(catalogue)
    faults = [fault for catalogue in CATALOGUES for fault in check(catalogue)]
    for fault in faults:
        print(fault, file=sys.stderr)
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
