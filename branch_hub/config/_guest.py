"""The guest listener: the page a customer's phone opens from the ticket's QR code."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from branch_hub.config._strict import Strict

__all__ = ["GuestSettings"]


class GuestSettings(Strict):
    """Where phones on the guest Wi-Fi reach a ticket's progress page (no client certificate)."""

    enabled: bool = Field(
        default=False,
        description="Serve the ticket progress page and print its link in the ticket's QR code; "
        "off: the QR code carries the plain ticket reference and nothing answers it.",
    )
    bind: str = Field(
        default="127.0.0.1",
        description="Address the guest listener binds to: the hub's address on the guest Wi-Fi "
        "(never the branch LAN's; it answers only /t/ pages).",
    )
    port: int = Field(
        default=8080, ge=0, le=65535, description="TCP port of the guest listener (plain HTTP)."
    )
    public_url: str = Field(
        default="",
        description="Base URL printed in the QR code (http://HOST:PORT as phones reach it); "
        "empty: http://BIND:PORT.",
    )
    guesses_per_min: int = Field(
        default=30,
        ge=1,
        le=6000,
        description="Unknown-token requests one address may make per minute before it gets 429.",
    )
    max_streams: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="Live-update streams the guest listener holds at once (each per address: 4).",
    )
    max_connections: int = Field(
        default=1000,
        ge=16,
        le=100_000,
        description="Connections the guest listener holds at once; more are closed at accept.",
    )

    @field_validator("public_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if value and (
            urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).netloc
        ):
            raise ValueError("expected http://HOST:PORT or https://HOST")
        return value.rstrip("/")

    def base_url(self) -> str:
        """The base of every ticket link (no trailing slash)."""
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return self.public_url or f"http://{host}:{self.port}"
