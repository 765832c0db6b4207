"""Property tests: the security parsers answer arbitrary input with their own typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_hub.context import RequestContext
from branch_hub.security import EnrolmentError, SessionStore
from branch_hub.security.auth import bearer_token, with_staff
from branch_hub.security.enrolment import EnrolmentCodes, parse_csr

PEM_LIKE = st.one_of(
    st.text(max_size=400),
    st.builds(
        lambda body: (
            f"-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n"
        ),
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n",
            max_size=600,
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(PEM_LIKE)
def test_parse_csr_raises_only_enrolment_error(text: str) -> None:
    with pytest.raises(EnrolmentError):
        parse_csr(text)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=100))
def test_redeem_random_codes_raises_only_enrolment_error(tmp_path: Path, code: str) -> None:
    codes = EnrolmentCodes(tmp_path / "codes.db")
    codes.create("TAB1", "tablet")
    with pytest.raises(EnrolmentError):
        codes.redeem(code)
    codes.close()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=400)))
def test_bearer_header_never_yields_staff_without_a_session(header: str | None) -> None:
    sessions = SessionStore(60)
    context = with_staff(RequestContext("TAB1", "tablet"), sessions, header)
    assert context.staff_id is None
    token = bearer_token(header)
    assert token is None or len(token) <= 256
