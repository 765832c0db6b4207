"""docs/openapi.yaml against the running hub over mutual TLS.

The committed file is what `python -m branch_hub.api.spec` makes from the route table, and the
route table agrees with the security policy. Every documented route exists (and every /api/v1
route is documented); a valid request gets a documented status whose body matches the schema;
hypothesis-generated malformed, oversized and wrong-typed bodies (not JSON, too large), bad path
parameters and bad query values always get a 4xx JSON error. The schema-driven run over every
operation is schemathesis's, in tests/test_openapi_schemathesis.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_hub.api import ROUTES, create_app
from branch_hub.api.spec import REFRESH, render
from branch_hub.security.policy import ENROL_ROUTE, SESSION_RULES, allowed_kinds
from tests.support.lobbyenv import branch_config
from tests.support.openapi_check import OpenApi, Operation
from tests.support.openapi_server import Server

ROOT = Path(__file__).resolve().parent.parent
API = OpenApi(ROOT / "docs" / "openapi.yaml")
OPERATIONS = API.operations()
ERROR = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("openapi")) as srv:
        yield srv


def test_committed_document_is_generated() -> None:
    committed = (ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8")
    assert committed == render(), f"docs/openapi.yaml is stale: run `{REFRESH}` and commit it"


def test_route_table_agrees_with_the_security_policy() -> None:
    for route in ROUTES:
        if route.kinds is None:
            assert (route.method, route.path) == ("POST", ENROL_ROUTE), route.path
            continue
        assert route.kinds == allowed_kinds(route.path), (
            f"{route.method} {route.path}: the route table says {sorted(route.kinds)}, "
            f"branch_hub/security/policy.py {sorted(allowed_kinds(route.path))}"
        )
        for prefix, kinds in SESSION_RULES:
            if route.path == prefix or route.path.startswith(prefix.rstrip("/") + "/"):
                assert kinds & route.kinds <= route.needs_session(), route.path


def test_route_table_is_served_as_declared(server: Server) -> None:
    assert server.run is not None
    app = create_app(server.run.hub)
    served = [
        (r.method, r.resource.canonical, getattr(r.handler, "__wrapped__", r.handler))
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    ]
    assert served == [(r.method, r.path, r.handler) for r in ROUTES]
    # every write is served behind its write guard, every read as it is
    guarded = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and hasattr(r.handler, "__wrapped__")
    }
    assert guarded == {(r.method, r.path) for r in ROUTES if r.method != "GET"}


def test_examples_and_schemas_are_valid() -> None:
    for op in OPERATIONS:
        schema, example = API.body_schema(op)
        if example is not None:
            assert schema is not None
            assert not API.errors(example, schema), op.id
        for param in API.parameters(op):
            if "x-example" in param:
                assert not API.errors(param["x-example"], param["schema"]), (op.id, param)
    assert not API.errors({"error": {"code": "x", "message": "m", "message_zh": "中"}}, ERROR)
    assert API.errors({"error": {"code": "x", "message": "m"}}, ERROR)  # message_zh is required


def _valid_path(op: Operation, values: dict[str, str]) -> str:
    path = op.path
    for param in API.parameters(op):
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", values[param["name"]])
    return path


def _fixtures(server: Server) -> dict[str, str]:
    """Real ids to put in paths: a walk-in ticket and its visit."""
    kiosk = server.sessions["kiosk"]
    issued = kiosk.post(f"{server.url}/kiosk/tickets", json={"service": "cash"}, timeout=10).json()
    assert server.run is not None
    ticket = issued["ticket"]
    visit = server.run.lobby.visits.visit_of_ticket(ticket["id"])
    return {
        "visit_id": visit,
        "ticket_id": ticket["id"],
        "lead_id": "L1",
        "period": "day",
        "counter_id": "C1",
        "device_id": "TAB-login",
        "app": "tablet",
        "version": "1.0.0",
        "name": "manifest.json",
    }


def _check_error(resp: requests.Response, what: str) -> None:
    assert resp.status_code < 500, f"{what}: {resp.status_code} {resp.text[:300]}"
    body = resp.json()
    if resp.status_code >= 400:
        assert not API.errors(body, ERROR), (what, body)


def test_documented_routes_match_the_server(server: Server) -> None:
    assert server.run is not None
    app = create_app(server.run.hub)
    served = {
        (route.method, route.resource.canonical.removeprefix(API.base))
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(API.base)
        and route.method != "HEAD"
    }
    documented = {(op.method, op.path) for op in OPERATIONS}
    assert served == documented


def test_valid_requests_answer_as_documented(server: Server) -> None:
    ids = _fixtures(server)
    ok = 0
    for op in OPERATIONS:
        if op.websocket:
            continue
        schema, example = API.body_schema(op)
        kwargs: dict[str, Any] = {"timeout": 10}
        if schema is not None:
            kwargs["json"] = example
        resp = server.client(op).request(op.method, server.url + _valid_path(op, ids), **kwargs)
        ok += resp.status_code < 300
        assert str(resp.status_code) in op.spec["responses"], (op.id, resp.status_code, resp.text)
        response_schema = API.response_schema(op, resp.status_code)
        if response_schema is not None:
            errors = API.errors(resp.json(), response_schema)
            assert not errors, (op.id, errors)
    assert ok >= 15  # most operations really succeed (the rest answer a documented 404/409)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_not_string = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)
)


def _bad_bodies(
    schema: dict[str, Any] | None, example: Any
) -> st.SearchStrategy[tuple[str, bytes]]:
    """(label, raw body) pairs that are always wrong for the operation."""
    raw = st.one_of(
        st.binary(max_size=200).map(lambda b: ("bytes", b)),
        st.just(("oversized", b'{"text": "' + b"x" * (70 * 1024) + b'"}')),
        st.sampled_from([b"[]", b"null", b"42", b'"x"', b"{", b"\xff\xfe"]).map(
            lambda b: ("not an object", b)
        ),
    )
    if schema is None or not isinstance(example, dict):
        return raw

    strings = [
        k
        for k, v in schema.get("properties", {}).items()
        if "string" in str(API.resolve(v).get("type", "")) or "oneOf" in v or "$ref" in v
    ]
    if not strings:
        return raw
    wrong = (
        st.tuples(st.sampled_from(strings), _not_string)
        .filter(lambda kv: kv[1] is not None)
        .map(lambda kv: ("wrong type " + kv[0], json.dumps({**example, kv[0]: kv[1]}).encode()))
    )
    return st.one_of(raw, wrong)


BODY_OPS = [op for op in OPERATIONS if op.method == "POST"]
PATH_OPS = [op for op in OPERATIONS if any(p["in"] == "path" for p in API.parameters(op))]


@pytest.mark.parametrize("op", BODY_OPS, ids=lambda op: op.id)
def test_malformed_bodies_get_4xx(server: Server, op: Operation) -> None:
    schema, example = API.body_schema(op)
    required = API.body_required(op)
    ids = {
        "visit_id": "0123456789abcdef",
        "ticket_id": "20260101-A001",
        "lead_id": "L1",
        "period": "day",
        "counter_id": "C1",
        "device_id": "TAB-nobody",
        "app": "tablet",
        "version": "1.0.0",
        "name": "manifest.json",
    }
    url = server.url + _valid_path(op, ids)
    client = server.client(op)
    if schema is None and op.id not in {"claim", "callNext", "recall", "noShow", "finish", "park"}:
        pytest.skip("takes no body")

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_bad_bodies(schema, example))
    def check(case: tuple[str, bytes]) -> None:
        label, body = case
        if not required and label == "bytes" and not body.strip():
            return  # an empty body is fine where none is needed
        resp = client.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
        _check_error(resp, f"{op.id} {label}")
        assert 400 <= resp.status_code < 500, (op.id, label, resp.status_code, resp.text[:200])

    check()


@pytest.mark.parametrize("op", PATH_OPS, ids=lambda op: op.id)
def test_bad_path_parameters_get_4xx(server: Server, op: Operation) -> None:
    names = [p["name"] for p in API.parameters(op) if p["in"] == "path"]
    client = server.client(op)
    _, example = API.body_schema(op)

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(names), st.text(min_size=1, max_size=400))
    def check(name: str, value: str) -> None:
        if name == "counter_id" and value in {c.id for c in branch_config().counters}:
            return  # a real counter is not a bad parameter
        good = {
            "visit_id": "0123456789abcdef",
            "ticket_id": "20260101-A001",
            "lead_id": "L1",
            "period": "day",
            "counter_id": "C9",
            "device_id": "../../etc",
            "app": "tablet",
            "version": "1.0.0",
            "name": "manifest.json",
        }
        good[name] = quote(value, safe="")
        resp = client.request(
            op.method, server.url + _valid_path(op, good), json=example, timeout=10
        )
        _check_error(resp, f"{op.id} {name}={value!r}")
        assert 400 <= resp.status_code < 500, (op.id, name, resp.status_code)

    check()


def test_bad_query_values_and_plain_get_on_websockets(server: Server) -> None:
    staff = server.sessions["staff"]

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(max_size=60).filter(lambda s: s not in {"waiting", "serving", "all"}))
    def check(state: str) -> None:
        resp = staff.get(f"{server.url}/visits", params={"state": state}, timeout=10)
        _check_error(resp, f"visits state={state!r}")
        assert resp.status_code == 400

    check()
    for op in OPERATIONS:
        if op.websocket:
            resp = server.client(op).get(server.url + op.path, params={"since": "x"}, timeout=10)
            _check_error(resp, op.id)
            assert 400 <= resp.status_code < 500
