"""How the hub runs: where it listens, how it reaches HQ, what briefs show, what it keeps."""

from __future__ import annotations

import itertools
import re
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from branch_hub.config._strict import KeyedError, Strict
from branch_hub.vocabulary import Role


class HubSettings(Strict):
    """Where the hub listens and keeps its state."""

    listen: str = Field(
        default="127.0.0.1:8443",
        description="HOST:PORT the HTTPS/WebSocket API listens on.",
    )
    data_dir: str = Field(
        default="var",
        description="Directory for the encrypted cache, queue database and keys; "
        "relative paths are relative to the config file.",
    )
    kiosk_session_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=600,
        description="Seconds before a kiosk session forgets the customer.",
    )
    desk_read_wait_s: float = Field(
        default=20.0,
        ge=1,
        le=60,
        description="Seconds an identification at a staff desk waits for the next read at the "
        "desk's reader before it is refused (a read up to 10 s before the request counts too).",
    )
    staff_idle_timeout_s: float = Field(
        default=900.0, gt=0, description="Seconds of inactivity before a staff session ends."
    )
    tls_handshake_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Seconds a new connection has to finish its TLS handshake before it is closed.",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a connection has to send a request's complete headers, from the end "
        "of its TLS handshake or from the first byte after the previous request; then it is "
        "closed (a slow client holds no connection longer).",
    )
    body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Seconds a request has to send its whole body once its headers arrived.",
    )
    keepalive_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds an idle kept-alive connection stays open between requests "
        "(event streams are never cut by it).",
    )
    max_connections_per_address: int = Field(
        default=64,
        ge=1,
        le=65536,
        description="Connections one peer address may hold at once; more are closed at accept.",
    )
    max_connections: int = Field(
        default=4096,
        ge=16,
        le=1_000_000,
        description="Connections the hub holds at once from all peers; more are closed at accept. "
        "The hub lowers it to stay 256 under its open-files limit.",
    )
    mdns: bool = Field(
        default=True,
        description="Advertise the hub by mDNS (_branchhub._tcp and its `HOST.local` name) so "
        "devices find it; see `mdns_interfaces` for where.",
    )
    mdns_interfaces: list[str] = Field(
        default_factory=list,
        description="IPv4 addresses of the interfaces on which the hub advertises itself by mDNS; "
        "empty: the address `listen` names, or every non-loopback IPv4 address of the machine "
        "when it listens on all (0.0.0.0); never on loopback unless listed here.",
    )
    ca_fingerprint: str = Field(
        default="",
        description="SHA-256 fingerprint (hex) of the branch CA, written by `branch-provision "
        "init`; the hub refuses to start (and `--check` fails) when the CA in the data folder "
        "is another. Empty: not checked.",
    )
    disk_reserve_mb: int = Field(
        default=200,
        ge=0,
        description="MB of free space kept on the data directory's disk for tickets, calls, "
        "outcomes and the audit log: under it, app reports and notes are refused (507) and "
        "staff tablets get a `disk_low` alert; 0 turns the reserve off.",
    )
    write_limit_scale: float = Field(
        default=1.0,
        ge=0,
        description="Multiplies every device's write rate limits (burst and refill, "
        "docs/hub-api.md); keep 1 in a branch; an accelerated demo raises it; 0 turns the "
        "limits off.",
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_listen(value)
        return value

    @field_validator("ca_fingerprint")
    @classmethod
    def _sha256_hex(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError("expected 64 lowercase hex digits (as branch-provision init prints)")
        return value


def split_listen(value: str) -> tuple[str, int]:
    """Split 'HOST:PORT' (or '[v6]:PORT') into host and port, or raise ValueError."""
    match = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d{1,5})", value)
    if not match or not 0 <= int(match.group(2)) < 65536:  # 0: any free port
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return match.group(1), int(match.group(2))


class HqSettings(Strict):
    """How the hub reaches headquarters."""

    bundle_url: str = Field(
        default="",
        description="Base URL of HQ's published bundles for this branch (https://, or file:// for tests); "
        "empty disables scheduled pulls. Needs `signing_public_key`, the hub's sync key and, "
        "for https://, `ca_file`.",
    )
    catalogue_url: str = Field(
        default="",
        description="Base URL of HQ's published product catalogue (https://, or file:// for "
        "tests; signed with the same key as the bundles); empty: the hub serves no catalogue.",
    )
    collector_url: str = Field(
        default="",
        description="HTTPS URL of HQ's outcome collector (needs `ca_file`); empty keeps outcomes "
        "in the outbox.",
    )
    ca_file: str = Field(
        default="",
        description="PEM file of the CA that HQ's HTTPS certificates chain to (pinned); relative "
        "paths are relative to the config file. Required when an HQ URL is https://.",
    )
    signing_public_key: str = Field(
        default="",
        description="HQ's Ed25519 bundle-signing public key (PEM file from `branch-sync keygen`); "
        "relative paths are relative to the config file. Required for scheduled pulls.",
    )
    sync_key_file: str = Field(
        default="cache/hub_sync.key",
        description="The hub's X25519 sync private key, relative to the data directory "
        "(written by `branch-provision init`; its public key goes to HQ).",
    )
    pull_interval_s: float = Field(
        default=900.0, ge=10, description="Seconds between scheduled bundle pulls."
    )
    stale_after_s: float = Field(
        default=2 * 86400.0,
        gt=0,
        description="Seconds after which the customer cache is reported stale.",
    )

    @field_validator("bundle_url", "catalogue_url", "collector_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in {"https", "http", "file"}:
            raise ValueError(f"expected an https:// or file:// URL, got {value!r}")
        return value

    @model_validator(mode="after")
    def _pull_needs_key(self) -> HqSettings:
        if self.bundle_url and not self.signing_public_key:
            raise KeyedError(
                "hq.signing_public_key",
                "bundle_url is set, so HQ's signing public key is needed to verify bundles",
            )
        if self.catalogue_url and not self.signing_public_key:
            raise KeyedError(
                "hq.signing_public_key",
                "catalogue_url is set, so HQ's signing public key is needed to verify it",
            )
        return self


# Staff roles (docs/security.md) and the brief fields a role can be denied (docs/briefs.md).
STAFF_ROLES = tuple(Role)
BRIEF_FIELDS = (
    "masked_name",
    "aum_band",
    "leads",
    "talking_points",
    "events",
    "notes",
    "segments",
    "relationship_manager",
    "risk_assessment",
    "products",
    "benefits",
    "non_counter_benefits",
    "attrition",
    "attrition_reason",
)


class BriefsSettings(Strict):
    """What a customer brief shows to each staff role."""

    hide: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Per role, the brief fields it must not see, e.g. `teller = ["aum_band", '
        '"talking_points"]`; a listed role replaces its default, unlisted roles keep theirs '
        "(the defaults are docs/briefs.md's Redaction table). "
        f"Fields: {', '.join(BRIEF_FIELDS)}.",
    )
    birthday_window_days: int = Field(
        default=7, ge=0, le=31, description="Days ahead (inclusive) a birthday is announced."
    )
    long_absence_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description="Days since the last visit after which a 'long absence' event is shown.",
    )
    do_not_repitch_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description="Days a lead the customer declined (at this branch or in HQ's history) is "
        "shown as 'do not re-pitch' and not offered again; 0 turns the rule off.",
    )
    follow_up_max_days: int = Field(
        default=90,
        ge=1,
        le=365,
        description="How far ahead (days) a lead's follow-up date may be set.",
    )
    aum_band_edges_cny: list[int] = Field(
        default_factory=lambda: [50_000, 500_000, 1_000_000, 6_000_000],
        min_length=1,
        max_length=12,
        description="Ascending CNY edges of the AUM bands shown to wealth roles "
        "(default bands: 5万以下, 5万-50万, 50万-100万, 100万-600万, 600万以上).",
    )

    timeline_visits: int = Field(
        default=5,
        ge=0,
        le=20,
        description="Earlier visits of the customer at this branch that a visit's timeline "
        "shows besides this one (the latest first; 0: this visit only).",
    )
    timeline_days: int = Field(
        default=365,
        ge=1,
        le=1825,
        description="Days back a visit's timeline looks for the customer's earlier visits.",
    )

    @field_validator("hide")
    @classmethod
    def _known_roles_and_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for role, fields in value.items():
            if role not in STAFF_ROLES:
                raise ValueError(f"unknown role {role!r} (known: {', '.join(STAFF_ROLES)})")
            for name in fields:
                if name not in BRIEF_FIELDS:
                    raise ValueError(
                        f"unknown brief field {name!r} for role {role!r} "
                        f"(known: {', '.join(BRIEF_FIELDS)})"
                    )
        return value

    @field_validator("aum_band_edges_cny")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if any(edge <= 0 for edge in value) or any(a >= b for a, b in itertools.pairwise(value)):
            raise ValueError("AUM band edges must be positive and strictly ascending")
        return value


class RetentionSettings(Strict):
    """How long the hub keeps history it no longer needs, and how often it deletes the rest."""

    push_days: int = Field(
        default=7,
        ge=1,
        le=366,
        description="Business days of live-event history kept before today (today is always "
        "kept); a device that reconnects with an older `since=` is told to reload (`resync`, "
        "reason `pruned`).",
    )
    outbox_sent_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Business days before today for which outcomes HQ has acknowledged (and "
        "whose day batch HQ holds) stay in the outbox; older ones are deleted. Undelivered or "
        "refused outcomes are never deleted.",
    )
    requeue_rejected_daily: bool = Field(
        default=True,
        description="Once a business day, put outcomes HQ refused back in the queue, so a refusal "
        "HQ has since fixed (e.g. a key it now knows) is delivered without an operator.",
    )
    prune_interval_s: float = Field(
        default=3600.0,
        ge=60,
        le=86400,
        description="Seconds between pruning rounds; the first round runs a minute after start.",
    )
