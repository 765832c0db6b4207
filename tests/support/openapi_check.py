"""A small OpenAPI 3.1 reader for the contract test: operations, $refs and a JSON-schema subset."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


@dataclass(frozen=True)
class Operation:
    """One documented method on one path."""

    method: str
    path: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        """The operationId."""
        return str(self.spec["operationId"])

    @property
    def kinds(self) -> list[str]:
        """Device kinds allowed (empty: no certificate needed)."""
        return list(self.spec.get("x-device-kinds", []))

    @property
    def staff(self) -> bool:
        """Whether a staff session is needed."""
        return bool(self.spec.get("x-staff"))

    @property
    def websocket(self) -> bool:
        """Whether the route upgrades to a WebSocket."""
        return bool(self.spec.get("x-websocket"))


class OpenApi:
    """The parsed document."""

    def __init__(self, path: Path) -> None:
        self.doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.base = "/api/v1"

    def operations(self) -> list[Operation]:
        """Every operation, in document order."""
        return [
            Operation(method.upper(), path, spec)
            for path, item in self.doc["paths"].items()
            for method, spec in item.items()
        ]

    def resolve(self, node: Any) -> Any:
        """Follow a $ref (local references only)."""
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def parameters(self, op: Operation) -> list[dict[str, Any]]:
        """The operation's parameters, resolved."""
        return [self.resolve(p) for p in op.spec.get("parameters", [])]

    def body_schema(self, op: Operation) -> tuple[dict[str, Any] | None, Any]:
        """The JSON request body schema and its x-example, or (None, None)."""
        body = op.spec.get("requestBody")
        if body is None:
            return None, None
        media = self.resolve(body)["content"]["application/json"]
        return self.resolve(media["schema"]), media.get("x-example")

    def response_schema(self, op: Operation, status: int) -> dict[str, Any] | None:
        """The schema documented for a status, or raise KeyError if the status is undocumented."""
        response = self.resolve(op.spec["responses"][str(status)])
        content = response.get("content", {}).get("application/json")
        return self.resolve(content["schema"]) if content else None

    def errors(self, value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
        """Where `value` breaks `schema` (a subset of JSON Schema 2020-12)."""
        schema = self.resolve(schema)
        if "oneOf" in schema:
            matches = [s for s in schema["oneOf"] if not self.errors(value, s, where)]
            return [] if len(matches) == 1 else [f"{where}: matches {len(matches)} of oneOf"]
        out: list[str] = []
        kinds = schema.get("type")
        if kinds is not None:
            names = kinds if isinstance(kinds, list) else [kinds]
            ok = any(
                isinstance(value, _TYPES[n])
                and not (n in {"integer", "number"} and isinstance(value, bool))
                for n in names
            )
            if not ok:
                return [f"{where}: {type(value).__name__} is not {names}"]
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{where}: {value!r} not in {schema['enum']}")
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0) or len(value) > schema.get(
                "maxLength", 1 << 30
            ):
                out.append(f"{where}: length {len(value)} out of range")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                out.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and value < schema.get("minimum", float("-inf"))
        ):
            out.append(f"{where}: {value} below minimum")
        if isinstance(value, dict):
            for key in schema.get("required", []):
                if key not in value:
                    out.append(f"{where}: missing {key!r}")
            for key, sub in schema.get("properties", {}).items():
                if key in value:
                    out += self.errors(value[key], sub, f"{where}.{key}")
        if isinstance(value, list):
            if len(value) < schema.get("minItems", 0) or len(value) > schema.get(
                "maxItems", 1 << 30
            ):
                out.append(f"{where}: {len(value)} items out of range")
            if "items" in schema:
                for i, item in enumerate(value):
                    out += self.errors(item, schema["items"], f"{where}[{i}]")
        return out
