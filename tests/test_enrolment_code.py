"""One enrolment code for every device: what `branch-provision enroll` writes, the apps read."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from branch_hub.client.enrolment_code import (
    EnrolmentError,
    check_pin,
    parse_enrolment_code,
)
from branch_hub.pki import ca_fingerprint, make_ca
from branch_hub.provision.enroll import enrolment_uri
from tablet.device import parse_enrolment_code as tablet_parse

NAMES = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=12)
HOSTS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}\.local", fullmatch=True),
)


@given(
    host=HOSTS,
    port=st.integers(1, 65535),
    fp=st.binary(min_size=32, max_size=32).map(bytes.hex),
    code=st.from_regex(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){0,3}", fullmatch=True),
    device_id=NAMES,
    kind=st.sampled_from(["kiosk", "tablet", "counter", "display"]),
)
def test_what_provisioning_writes_the_devices_read(
    host: str, port: int, fp: str, code: str, device_id: str, kind: str
) -> None:
    hub = f"https://{host}:{port}"
    uri = enrolment_uri(hub, fp, code, device_id, kind)
    for text in (uri, uri.replace("branchedge://enrol?", "branchedge:enrol?"), f"  {uri}\n"):
        parsed = parse_enrolment_code(text)
        assert (parsed.hub_url, parsed.ca_fingerprint, parsed.code) == (hub, fp, code)
        assert (parsed.device_id, parsed.kind) == (device_id, kind)
    assert tablet_parse(uri) == parse_enrolment_code(uri)  # the tablet uses the shared parser


def test_the_fingerprint_has_one_name() -> None:
    legacy = parse_enrolment_code("branchedge:enrol?code=ABCD-EFGH&fp=" + "0a" * 32)
    assert legacy.ca_fingerprint is None  # not read: the QR's pin is `ca`, as provisioning writes


def test_a_wrong_ca_is_refused_in_both_languages() -> None:
    ours, theirs = make_ca("B1"), make_ca("B1")
    assert check_pin(ours.cert_pem(), ca_fingerprint(ours.cert)) == ca_fingerprint(ours.cert)
    with pytest.raises(EnrolmentError) as refused:
        check_pin(theirs.cert_pem(), ca_fingerprint(ours.cert))
    assert "not your branch's hub" in refused.value.message
    assert "不是本网点的中心" in refused.value.message_zh
    zh, en = refused.value.bilingual.split("\n")
    assert (zh, en) == (refused.value.message_zh, refused.value.message)


@given(st.text(max_size=200))
def test_the_parser_raises_only_its_own_error(text: str) -> None:
    for prefix in ("", "branchedge://enrol?", "branchedge:enrol?"):
        with contextlib.suppress(EnrolmentError):
            parse_enrolment_code(prefix + text)
