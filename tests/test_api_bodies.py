"""Malformed JSON bodies, wrong methods and the version banner, attacked on the real hub.

Every route that reads a body is sent, over mutual TLS with the identity it expects (none for
enrolment), bodies nested deeper than the reader allows (under the size limit, so they reach
the parser), with repeated keys, NaN and Infinity, bytes that are not UTF-8, a byte order mark,
an unpaired surrogate escape, a top-level array, and more than 64 KiB: each answers 400 (413 for
the size) with its own reason code and a Chinese message, and the hub logs no ERROR. Every path
answers a method it does not take with 405, `Allow` and the JSON error body; no answer names
aiohttp or its version in `Server`, not even the answer to a request line that is not HTTP.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branch_hub.api import ROUTES
from branch_hub.api.app import SERVER_NAME
from branch_hub.api.bodies import MAX_JSON_DEPTH, parse_json_object
from branch_hub.api.errors import ApiError
from tests.support.openapi_check import OpenApi
from tests.support.openapi_server import BASE, Server

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = {
    (op.method.upper(), op.path): op for op in OpenApi(ROOT / "docs" / "openapi.yaml").operations()
}
BODY_ROUTES = [r for r in ROUTES if r.body is not None]
DEEP = b'{"a":' + b"[" * 20_000 + b"]" * 20_000 + b"}"  # 40 kB: under the size limit
MALFORMED = {
    "deep_array": (DEEP, 400, "bad_json_depth"),
    "deep_object": (b'{"a":' * 200 + b"1" + b"}" * 200, 400, "bad_json_depth"),
    "bad_duplicate_key": (b'{"service":"cash","service":"loans"}', 400, "bad_duplicate_key"),
    "nan": (b'{"service":NaN}', 400, "bad_number"),
    "infinity": (b'{"service":-Infinity}', 400, "bad_number"),
    "huge_float": (b'{"service":1e999}', 400, "bad_number"),
    "latin1": (b'{"service":"caf\xe9"}', 400, "bad_encoding"),
    "bom": (b'\xef\xbb\xbf{"service":"cash"}', 400, "bad_encoding"),
    "lone_surrogate": (b'{"service":"\\ud800"}', 400, "bad_encoding"),
    "array": (b"[]", 400, "bad_json_type"),
    "string": (b'"cash"', 400, "bad_json_type"),
    "truncated": (b'{"service":', 400, "bad_json"),
    "too_large": (b'{"a":"' + b"x" * 70_000 + b'"}', 413, "body_too_large"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("bodies")) as srv:
        yield srv


@pytest.fixture(scope="module")
def ids(server: Server) -> dict[str, str]:
    """Real ids for the paths, so that each route reaches its body."""
    issued = server.sessions["kiosk"].post(
        f"{server.url}/kiosk/tickets", json={"service": "cash"}, timeout=10
    )
    ticket = issued.json()["ticket"]["id"]
    assert server.run is not None
    visit = str(server.run.lobby.visits.visit_of_ticket(ticket))
    return {"visit_id": visit, "ticket_id": ticket, "counter_id": "C1", "app": "tablet"}


def _url(server: Server, path: str, ids: dict[str, str]) -> str:
    return server.url + re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "L1"), path)


def _path(route_path: str) -> str:
    return route_path.removeprefix(BASE)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_every_body_route_refuses_malformed_json_with_400(
    server: Server, ids: dict[str, str], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    raw, status, code = MALFORMED[name]
    caplog.set_level(logging.INFO)
    for route in BODY_ROUTES:
        op = OPERATIONS[(route.method, _path(route.path))]
        answer = server.client(op).request(
            route.method,
            _url(server, op.path, ids),
            data=raw,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == status, (route.path, answer.text)
        error = answer.json()["error"]
        assert error["code"] == code, (route.path, error)
        assert error["message"], error
        assert error["message_zh"] != "请求无效，请检查后重试。", error
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def test_enrolment_without_a_certificate_refuses_deep_json(server: Server) -> None:
    answer = server.sessions["anonymous"].post(
        f"{server.url}/enrol", data=DEEP, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_json_depth"


def test_a_method_a_path_does_not_take_answers_405_with_allow(
    server: Server, ids: dict[str, str]
) -> None:
    methods: dict[str, set[str]] = {}
    for route in ROUTES:
        methods.setdefault(route.path, set()).add(route.method)
    for path, taken in methods.items():
        op = OPERATIONS.get((sorted(taken)[0], _path(path)))
        if op is None:  # a page outside the API (the lobby display)
            assert server.run is not None
            url = server.run.url + re.sub(r"\{(\w+)\}", "V1", path)
            client = server.sessions["display"]
        else:
            # enrolment takes no certificate, but only for its POST: other methods need one
            url, client = _url(server, op.path, ids), server.sessions["device"]
            if op.kinds:
                client = server.client(op)
        answer = client.request("PATCH", url, timeout=10)
        assert answer.status_code == 405, (path, answer.text)
        allow = {m.strip() for m in answer.headers["Allow"].split(",")}
        assert taken <= allow, (path, allow)
        assert answer.json()["error"]["code"] == "method_not_allowed"
        assert answer.json()["error"]["message_zh"]


def test_no_answer_names_the_server_software(server: Server) -> None:
    kiosk = server.sessions["kiosk"]
    for answer in (
        kiosk.get(f"{server.url}/health", timeout=10),
        kiosk.get(f"{server.url}/no-such-thing", timeout=10),
        server.sessions["anonymous"].get(f"{server.url}/health", timeout=10),
    ):
        assert answer.headers["Server"] == SERVER_NAME, answer.headers
    assert server.run is not None
    host, port = re.match(r"https://([^:/]+):(\d+)", server.run.url).groups()  # type: ignore[union-attr]
    context = ssl.create_default_context(cafile=str(server.tls.ca_path))
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        head = tls.recv(4096).decode("latin-1")
    assert re.match(r"HTTP/1\.[01] 400 ", head), head
    assert f"Server: {SERVER_NAME}\r\n" in head, head
    assert "aiohttp" not in head.lower(), head
    assert "python" not in head.lower(), head


def test_login_429_and_event_stream_401_are_documented() -> None:
    assert "429" in OPERATIONS[("POST", "/login")].spec["responses"]
    assert "401" in OPERATIONS[("GET", "/events")].spec["responses"]


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_give_an_object_or_a_400(raw: bytes) -> None:
    read = _read(raw)
    if isinstance(read, ApiError):
        assert read.status == 400
        assert read.code
        assert read.message_zh
    else:
        assert isinstance(read, dict)


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(st.text(), _JSON, max_size=4), depth=st.integers(0, 60))
def test_a_valid_object_reads_back_unless_too_deep(value: dict[str, Any], depth: int) -> None:
    nested: Any = value
    for _ in range(depth):
        nested = {"k": [nested]}
    raw = json.dumps(nested, ensure_ascii=False).encode("utf-8", "surrogatepass")
    read = _read(raw)
    if isinstance(read, ApiError):
        too_deep = _nesting(nested) > MAX_JSON_DEPTH
        assert read.code == ("bad_json_depth" if too_deep else "bad_encoding"), read.code
    else:
        assert _nesting(nested) <= MAX_JSON_DEPTH
        assert read == nested


def _read(raw: bytes) -> dict[str, Any] | ApiError:
    """The reader's object, or the refusal it raised (any other exception fails the test)."""
    try:
        return parse_json_object(raw)
    except ApiError as exc:
        return exc


def _nesting(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_nesting(v) for v in value), default=0)
    return 0
