"""Where the tablet's catalogue screens read products, articles and pictures from.

The screens ask a `CatalogueSource` for a search over the catalogue and for a picture's bytes.
On a tablet the source is its verified copy of HQ's catalogue (tablet/catalogue_keeper.py);
`IndexFolderSource` reads a folder holding an index built by `build_index` (`index.sqlite`) and
the pictures beside it (`files/<name>`), for benches and for pictures no signed catalogue could
carry. The tablet's `catalogue` attribute holds the source in use.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from branch_hub.client.catalogue_search import CatalogueSearch

__all__ = ["INDEX_NAME", "CatalogueSource", "IndexFolderSource", "source_of"]

INDEX_NAME = "index.sqlite"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # a picture's name, never a path


class CatalogueSource(Protocol):
    """The catalogue the screens show."""

    def search(self) -> CatalogueSearch | None:
        """A search over the current catalogue, None while the tablet holds none."""

    def image(self, name: str) -> bytes | None:
        """A picture's bytes, None when it is missing."""


class IndexFolderSource:
    """A folder with `index.sqlite` and `files/`: opened once, on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._search: CatalogueSearch | None = None

    def search(self) -> CatalogueSearch | None:
        """The index's search; None before an index is there."""
        if self._search is None and (self.folder / INDEX_NAME).is_file():
            self._search = CatalogueSearch(self.folder / INDEX_NAME)
        return self._search

    def image(self, name: str) -> bytes | None:
        """The picture `name` from `files/`; None for a missing file or a name that is a path."""
        if not _SAFE_NAME.match(name):
            return None
        try:
            return (self.folder / "files" / name).read_bytes()
        except OSError:
            return None


def source_of(view: Any) -> CatalogueSource:
    """The catalogue the tablet's screens read."""
    source: CatalogueSource = view.tablet.catalogue
    return source
