"""Schemathesis against the hub served over mutual TLS: every operation of docs/openapi.yaml.

For each operation schemathesis generates requests from the document, valid ones (also with
real visit, ticket and counter ids in the path, and the documented example body) and invalid
ones, and sends them with the certificate the operation's `x-device-kinds` names and a staff
session where `x-staff` says so (a branch administrator's where `x-roles` asks for one). Every
answer: never a 5xx, a documented status, a body matching the documented schema and media type.
The run is bounded: a few examples per operation and mode, and a time limit for the module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.catalogue_hq import apply_catalogue
from tests.support.openapi_check import OpenApi
from tests.support.openapi_server import Server

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.yaml"
SCHEMA = schemathesis.openapi.from_path(DOCUMENT)
API = OpenApi(DOCUMENT)
OPERATIONS = {op.id: op for op in API.operations()}
EXAMPLES = {GenerationMode.POSITIVE: 50, GenerationMode.NEGATIVE: 25}  # per operation
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


class Fuzzed(Server):
    """The hub of this module, with real ids to put into paths."""

    ids: dict[str, str]

    def __enter__(self) -> Fuzzed:
        super().__enter__()
        assert self.run is not None
        kiosk = self.sessions["kiosk"]
        issued = kiosk.post(f"{self.url}/kiosk/tickets", json={"service": "cash"}, timeout=10)
        # A catalogue applied, so its routes answer rather than 503 "not ready yet".
        hub = self.run.hub
        apply_catalogue(hub.data_dir / "catalogue", self.folder / "hq-catalogue")
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(hub.catalogue.refresh(), self._loop).result(30)
        ticket = issued.json()["ticket"]["id"]
        self.ids = {
            "visit_id": str(self.run.lobby.visits.visit_of_ticket(ticket)),
            "ticket_id": ticket,
            "counter_id": "C1",
            "app": "tablet",
        }
        return self


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    # A hub of its own: generated logins and enrolments trip the rate limits on purpose.
    with Fuzzed(tmp_path_factory.mktemp("schemathesis")) as srv:
        yield srv


def _cases() -> list[Any]:
    """(operation, mode) pairs; an operation without parameters or body has no invalid form."""
    out = []
    for result in SCHEMA.get_all_operations():
        operation = result.ok()
        raw = operation.definition.raw
        for mode in EXAMPLES:
            if mode is GenerationMode.NEGATIVE and not (
                raw.get("parameters") or raw.get("requestBody")
            ):
                continue
            out.append(pytest.param(operation, mode, id=f"{operation.label} {mode.value}"))
    return out


def _strategy(
    operation: schemathesis.APIOperation, mode: GenerationMode, ids: dict[str, str]
) -> st.SearchStrategy[schemathesis.Case]:
    """Generated cases; valid ones also with real path ids and with the example body."""
    generated = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.NEGATIVE:
        return generated
    raw = operation.definition.raw
    names = [p["name"] for p in raw.get("parameters", []) if p["in"] == "path"]
    real = {name: ids[name] for name in names if name in ids}
    choices = [generated]
    if real:
        choices.append(operation.as_strategy(path_parameters=real))
    example = raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "x-example" in example:
        choices.append(operation.as_strategy(path_parameters=real, body=example["x-example"]))
    return st.one_of(choices)


@pytest.mark.parametrize(("operation", "mode"), _cases())
def test_operation_answers_as_documented(
    server: Fuzzed, operation: schemathesis.APIOperation, mode: GenerationMode
) -> None:
    client = server.client(OPERATIONS[operation.definition.raw["operationId"]])

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, mode, server.ids))
    def check(case: schemathesis.Case) -> None:
        # schemathesis passes `verify` itself: name the branch CA again, or it would win.
        response = case.call(
            base_url=server.url, session=client, timeout=10, verify=client.verify, cert=client.cert
        )
        case.validate_response(response, checks=CHECKS)

    check()
