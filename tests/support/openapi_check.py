"""A small OpenAPI 3.1 reader for the contract test: operations, $refs and schema checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml


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

    def body_required(self, op: Operation) -> bool:
        """Whether the operation needs a request body (False also when it takes none)."""
        body = op.spec.get("requestBody")
        return body is not None and bool(self.resolve(body).get("required"))

    def response_schema(self, op: Operation, status: int) -> dict[str, Any] | None:
        """The schema documented for a status, or raise KeyError if the status is undocumented."""
        response = self.resolve(op.spec["responses"][str(status)])
        content = response.get("content", {}).get("application/json")
        return self.resolve(content["schema"]) if content else None

    def errors(self, value: Any, schema: dict[str, Any]) -> list[str]:
        """Where `value` breaks `schema` (JSON Schema 2020-12; $refs into the document)."""
        root = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        }
        validator = jsonschema_rs.validator_for(root)
        return [
            f"$/{'/'.join(map(str, e.instance_path))}: {e.message}"
            for e in validator.iter_errors(value)
        ]
