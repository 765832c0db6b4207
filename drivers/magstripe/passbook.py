"""Passbook (存折) stripes: bank-specific layouts read through a small per-bank rule."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from drivers.errors import TrackError
from drivers.events import PassbookRead
from drivers.magstripe.tracks import split_swipe


def _isdigits(text: str) -> bool:
    # str.isdigit() accepts non-ASCII digits such as "²"; a stripe carries ASCII only.
    return text.isascii() and text.isdigit()


__all__ = ["DEFAULT_RULE", "PassbookRead", "PassbookRule", "parse_passbook"]


class PassbookRule(BaseModel):
    """How one bank lays out its passbook stripe; the account is the first field by default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bank: str = Field("default", description="bank code or name this rule is for")
    track: int = Field(2, ge=2, le=3, description="track holding the account (2 or 3)")
    separators: tuple[str, ...] = Field(
        ("=", ">", "'"), description="field separators, tried in order"
    )
    account_field: int = Field(0, ge=0, description="0-based index of the account field")
    min_fields: int = Field(1, ge=1, description="fewer fields than this is not a passbook")
    account_digits: tuple[int, int] = Field((6, 32), description="allowed account lengths")
    fallback_track: int | None = Field(3, description="track to try when `track` is missing")


DEFAULT_RULE = PassbookRule()


def _fields(body: str, rule: PassbookRule) -> list[str]:
    for sep in rule.separators:
        if sep in body:
            return body.split(sep)
    return [body]


def parse_passbook(text: str, rule: PassbookRule = DEFAULT_RULE) -> PassbookRead:
    """Read the account number from a passbook swipe according to a bank's rule."""
    raw = split_swipe(text)
    order = [rule.track] + ([rule.fallback_track] if rule.fallback_track else [])
    for n in order:
        body = raw.get(n)
        if body is None:
            continue
        fields = [f.strip() for f in _fields(body, rule)]
        if len(fields) < rule.min_fields or rule.account_field >= len(fields):
            raise TrackError(f"passbook track {n}: expected at least {rule.min_fields} fields")
        account = fields[rule.account_field]
        low, high = rule.account_digits
        if not _isdigits(account) or not low <= len(account) <= high:
            raise TrackError(f"passbook track {n}: account must be {low}-{high} digits")
        return PassbookRead(account, rule.bank, n, tuple(fields))
    raise TrackError(f"passbook: no track {' or '.join(map(str, order))} in the swipe")
