"""The hub's OpenAPI 3.1 document, made from the route table and the device client's wire models.

`python -m branch_hub.api.spec` rewrites docs/openapi.yaml (`--check` only compares); a test
fails when the committed file differs from what this module makes.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from branch_hub.api import ROUTES
from branch_hub.api.app import MAX_BODY
from branch_hub.api.bodies import MAX_JSON_DEPTH
from branch_hub.api.routes import Body, Param, Reply, Route, Shape
from branch_hub.api.wire_schemas import EXPLICIT, FIELD_LIMITS
from branch_hub.client.models import ErrorBody
from branch_hub.limits import BUDGETS, WriteLimits
from branch_hub.vocabulary import DeviceKind, LeadOutcome, Role

__all__ = ["BASE", "DOCUMENT", "build", "main", "render"]

BASE = "/api/v1"
DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
REFRESH = "python -m branch_hub.api.spec"
_PREFIX = "#/components/schemas/"
_INFO = {
    "title": "branch-edge hub API",
    "version": "1",
    "description": (
        "The branch hub's HTTPS API (mutual TLS: the client certificate's CN is the device id, "
        "its OU the device kind). Staff endpoints also need a staff session (`Authorization: "
        'Bearer TOKEN` from POST /login). Every error is JSON `{"error": {"code", '
        '"message", "message_zh"}}` with a 4xx status (503 when a store is unavailable); bad '
        "input never gives a 500. A JSON body is one UTF-8 object (no byte order mark, no "
        f"unpaired \\u escape, no repeated key, no NaN or Infinity, at most {MAX_JSON_DEPTH} "
        f"levels deep, at most {MAX_BODY // 1024} KiB): else 400 with the reason code "
        "`bad_json`, `bad_encoding`, `bad_json_depth`, `bad_duplicate_key`, `bad_number` or "
        "`bad_json_type`, or 413 `body_too_large`. A method a path does not take answers 405 "
        "`method_not_allowed` with an `Allow` header. Every write route spends the calling "
        "device's budget for its class: 429 `rate_limited` with `Retry-After` when it is spent; "
        "writes that can wait (app reports, notes) answer 507 `disk_reserve` while the hub's "
        "disk is under its reserve. Generated from the hub's route table and the device client's "
        f"wire models by `{REFRESH}`: do not edit by hand. Extensions: `x-device-kinds` (the "
        "device kinds whose certificate may call), `x-staff` (a staff session is needed; "
        "`x-session-kinds` says on which kinds where not all), `x-roles` (the staff roles "
        "allowed, where not every role), `x-example` (a valid request body), `x-websocket` (the "
        "route upgrades to a WebSocket; see docs/hub-api.md for its messages)."
    ),
}
_VOCABULARY: tuple[type, ...] = (Role, DeviceKind, LeadOutcome)


class _Components:
    """The document's shared schemas, filled as operations refer to them."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type) -> dict[str, Any]:
        """A reference to a model's schema, adding the schema on first use."""
        name = model.__name__
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: a model may refer to itself
            self.schemas[name] = self._schema(model)
        return {"$ref": _PREFIX + name}

    def shape(self, shape: Shape) -> dict[str, Any]:
        """The schema for a body: a reference to a model, or the explicit schema."""
        if isinstance(shape, type):
            return self.ref(shape)
        return copy.deepcopy(dict(shape))

    def _schema(self, model: type) -> dict[str, Any]:
        explicit = EXPLICIT.get(model)
        if explicit is not None:
            return explicit(self.ref)
        derived = TypeAdapter(model).json_schema(ref_template=_PREFIX + "{model}")
        for name, sub in derived.pop("$defs", {}).items():
            self.schemas.setdefault(name, _tidy(sub))
        schema: dict[str, Any] = _tidy(derived)
        for key, limits in FIELD_LIMITS.get(model, {}).items():
            if key not in schema["properties"]:
                raise KeyError(f"{model.__name__} has no field {key!r}")
            schema["properties"][key] = copy.deepcopy(limits)
        return schema


def _tidy(schema: Any, names: bool = False) -> Any:
    """Drop pydantic's generated titles (the names say it); `names`: a map of property names."""
    if isinstance(schema, dict):
        return {
            k: _tidy(v, names=k == "properties" and not names)
            for k, v in schema.items()
            if names or k != "title"
        }
    if isinstance(schema, list):
        return [_tidy(v) for v in schema]
    return schema


def _statuses(route: Route) -> list[int]:
    """Every status the route can answer: its replies, its guards' refusals and its own."""
    codes = set(route.replies) | set(route.refusals)
    if route.kinds is not None:
        codes |= {401, 403}  # no certificate, a revoked device or the wrong kind
    if route.needs_session():
        codes |= {401}  # not logged in or the session ended
    if route.roles is not None:
        codes |= {403}  # the role may not
    if route.body is not None:
        codes |= {400, 413}  # not a JSON object, a bad field, too large
    if route.websocket or any(p.where == "query" for p in route.params):
        codes |= {400}
    if route.limit is not None and BUDGETS[route.limit] is not None:
        codes |= {429}  # the device's write budget for the route's class is spent
        if not WriteLimits.essential(route.limit):
            codes |= {507}  # the disk is under its reserve
    return sorted(codes)


def _refusal(route: Route, status: int) -> dict[str, Any]:
    """A refusal's reference; every 429 also names its `Retry-After` header."""
    if status == 429:
        return {"$ref": "#/components/responses/Throttled"}
    return {"$ref": "#/components/responses/Error"}


def _parameter(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.where == "path",
        "schema": dict(param.schema),
    }
    if param.example is not None:
        out["x-example"] = param.example
    return out


def _body(body: Body, components: _Components) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": components.shape(body.shape)}
    if body.example is not None:
        media["x-example"] = dict(body.example)
    return {"required": body.required, "content": {"application/json": media}}


def _reply(reply: Reply, components: _Components) -> dict[str, Any]:
    out: dict[str, Any] = {"description": reply.description}
    if reply.shape is not None:
        out["content"] = {reply.media_type: {"schema": components.shape(reply.shape)}}
    return out


def _operation(route: Route, components: _Components) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.operation_id, "summary": route.summary}
    if route.description:
        op["description"] = route.description
    if route.kinds is None:
        op["security"] = []
    else:
        op["x-device-kinds"] = sorted(str(k) for k in route.kinds)
    session = route.needs_session()
    if session:
        op["x-staff"] = True
        op["security"] = [{"deviceCertificate": [], "staffSession": []}]
        if route.kinds is not None and session != route.kinds:
            op["x-session-kinds"] = sorted(str(k) for k in session)
    if route.roles is not None and route.roles != frozenset(Role):
        op["x-roles"] = sorted(str(r) for r in route.roles)
    if route.websocket:
        op["x-websocket"] = True
    if route.params:
        op["parameters"] = [_parameter(p) for p in route.params]
    if route.body is not None:
        op["requestBody"] = _body(route.body, components)
    responses: dict[str, Any] = {}
    for status in _statuses(route):
        reply = route.replies.get(status)
        responses[str(status)] = _reply(reply, components) if reply else _refusal(route, status)
    op["responses"] = responses
    return op


def build(routes: tuple[Route, ...] = ROUTES) -> dict[str, Any]:
    """The OpenAPI document for the routes under /api/v1."""
    components = _Components()
    for kind in _VOCABULARY:
        components.ref(kind)
    error = components.ref(ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not route.path.startswith(BASE + "/"):
            continue  # the display's page and files are not part of the API
        item = paths.setdefault(route.path.removeprefix(BASE), {})
        item[route.method.lower()] = _operation(route, components)
    return {
        "openapi": "3.1.0",
        "info": _INFO,
        "servers": [{"url": "https://hub.branch.local:8443" + BASE}],
        "security": [{"deviceCertificate": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "deviceCertificate": {
                    "type": "mutualTLS",
                    "description": "A client certificate from the branch CA (CN = device id, "
                    "OU = device kind).",
                },
                "staffSession": {"type": "http", "scheme": "bearer"},
            },
            "responses": {
                "Error": {
                    "description": "A refusal: reason code and messages in English and Chinese.",
                    "content": {"application/json": {"schema": error}},
                },
                "Throttled": {
                    "description": "Too many attempts from this device or address (failed logins "
                    "or enrolments, a spent write budget, a recent renewal; docs/hub-api.md): try "
                    "again after Retry-After seconds.",
                    "headers": {
                        "Retry-After": {
                            "description": "Whole seconds until the next request may pass.",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    },
                    "content": {"application/json": {"schema": dict(error)}},
                },
            },
            "schemas": dict(sorted(components.schemas.items())),
        },
    }


def render(document: Mapping[str, Any] | None = None) -> str:
    """The document as YAML text (the committed docs/openapi.yaml)."""
    import yaml  # a development tool's dependency: the hub itself never writes YAML

    text = yaml.safe_dump(
        dict(document if document is not None else build()),
        sort_keys=False,
        default_flow_style=None,
        allow_unicode=True,
        width=100,
    )
    return f"# Generated by `{REFRESH}` from the route table; do not edit.\n{text}"


def main(argv: list[str] | None = None) -> int:
    """Write docs/openapi.yaml, or with --check say whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when stale")
    parser.add_argument("--out", type=Path, default=DOCUMENT, help="where the document goes")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale; run: {REFRESH}", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
