"""Adds the catalogue's screens (search, product, article) to the tablet's screen table."""

from __future__ import annotations

from tablet import screens
from tablet.catalogue_view import ArticleScreen, CatalogueScreen
from tablet.product_view import ProductScreen

__all__ = ["ArticleScreen", "CatalogueScreen", "ProductScreen"]

screens.SCREENS.update(catalogue=CatalogueScreen, product=ProductScreen, article=ArticleScreen)
