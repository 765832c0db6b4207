"""The hub's mirror of HQ's signed catalogue files, for tablets that keep a verified copy.

A tablet pulls the catalogue from its hub, not from HQ, and checks it itself with HQ's key: the
mirror hands out the applied version's signed pointer, manifest and chunks byte for byte. An
enrolled tablet or counter certificate is enough (the catalogue is public bank material).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.guards import require
from branch_hub.api.routes import Param, Reply, Route
from branch_hub.catalogue_mirror import MIRROR_NAME, CatalogueMirror, UnknownCatalogueFile
from branch_hub.vocabulary import STAFF_DEVICE_KINDS

__all__ = ["ROUTES"]


def _mirror(request: web.Request) -> CatalogueMirror:
    settings = request.app[HUB].catalogue.settings
    return CatalogueMirror(settings.store, settings.hq_public)


async def catalogue_file(request: web.Request) -> web.Response:
    """One signed file of the applied catalogue, exactly as HQ signed it and the hub checked it."""
    require(request, kinds=STAFF_DEVICE_KINDS)
    name = request.match_info["name"]
    if not MIRROR_NAME.fullmatch(name):
        raise UnknownCatalogueFile(name)  # before any path is built from it
    data = await asyncio.get_running_loop().run_in_executor(None, _mirror(request).read, name)
    # Bytes, not a JSON answer: the tablet checks them exactly as HQ signed them.
    return web.Response(body=data, headers={"Content-Type": "application/octet-stream"})


async def catalogue_key(request: web.Request) -> web.Response:
    """HQ's catalogue signing key, for a tablet to pin on its first copy."""
    require(request, kinds=STAFF_DEVICE_KINDS)
    key = await asyncio.get_running_loop().run_in_executor(None, _mirror(request).key_hex)
    return web.json_response({"ed25519": key})


_KEY = {
    "type": "object",
    "required": ["ed25519"],
    "additionalProperties": False,
    "properties": {"ed25519": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
}

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/v1/catalogue/files/{name}",
        catalogue_file,
        "catalogueFile",
        "One signed file of the applied catalogue for a tablet's own verified copy: "
        "`latest.json` (HQ's signed pointer), `manifest.json` (the signed manifest) or a "
        "chunk by its SHA-256 (an enrolled tablet or counter; no staff session needed).",
        STAFF_DEVICE_KINDS,
        {
            200: Reply(
                "The file's bytes, exactly as HQ signed them.",
                {"type": "string", "format": "binary"},
                media_type="application/octet-stream",
            )
        },
        params=(
            Param.matching(
                "name", "^(latest\\.json|manifest\\.json|[0-9a-f]{64})$", example="latest.json"
            ),
        ),
        refusals=frozenset({404}),
        description="404 catalogue_not_ready before the hub applied its first catalogue, 404 "
        "catalogue_file_unknown for any other name or a chunk the applied version does not hold. "
        "The tablet checks HQ's signature and every chunk's hash itself (docs/catalogue.md).",
    ),
    Route(
        "GET",
        "/api/v1/catalogue/key",
        catalogue_key,
        "catalogueKey",
        "HQ's catalogue signing key (Ed25519, raw 32 bytes as hex), which a tablet pins on "
        "its first copy.",
        STAFF_DEVICE_KINDS,
        {200: Reply("HQ's public key.", _KEY)},
        refusals=frozenset({404}),
    ),
)
