"""PC/SC transport over pyscard's scard layer: one connection to one card in one reader."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from drivers.errors import CardRemoved, DeviceError, DeviceTimeout, ProtocolError, TransportError

__all__ = ["PcscTransport", "call_with_timeout", "check"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_SCARD_PRESENT = 0x0004  # pcsc-lite SCardStatus state bit (pcsclite.h), not exported by pyscard


def _scard() -> Any:
    try:
        from smartcard import scard
    except ImportError as exc:  # pyscard is in the 'hub' extra
        raise TransportError("pyscard is not installed (pip install 'branch-edge[hub]')") from exc
    return scard


def check(hresult: int, what: str) -> None:
    """Translate a PC/SC result code into the drivers' exceptions."""
    scard = _scard()
    if hresult == scard.SCARD_S_SUCCESS:
        return
    text = scard.SCardGetErrorMessage(hresult)
    removed = {
        scard.SCARD_W_REMOVED_CARD,
        scard.SCARD_E_NO_SMARTCARD,
        scard.SCARD_W_RESET_CARD,
        scard.SCARD_W_UNPOWERED_CARD,
    }
    if hresult in removed:
        raise CardRemoved(f"{what}: card removed ({text})")
    if hresult == scard.SCARD_E_TIMEOUT:
        raise DeviceTimeout(f"{what}: {text}")
    raise TransportError(f"{what}: {text} (0x{hresult & 0xFFFFFFFF:08X})")


class PcscTransport:
    """A `CardTransport` for a card in a PC/SC reader; open with `with` or `connect()`."""

    def __init__(self, reader: str) -> None:
        self.reader = reader
        self._ctx: Any = None
        self._card: Any = None
        self._protocol: int = 0
        self.atr = b""

    def connect(self) -> PcscTransport:
        """Connect to the card (shared mode, T=0 or T=1)."""
        scard = _scard()
        hresult, self._ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        check(hresult, "establish PC/SC context")
        hresult, self._card, self._protocol = scard.SCardConnect(
            self._ctx,
            self.reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult != scard.SCARD_S_SUCCESS:
            self._card = None
            self.close()
        check(hresult, f"connect to card in {self.reader!r}")
        hresult, _name, _state, _proto, atr = scard.SCardStatus(self._card)
        if hresult == scard.SCARD_S_SUCCESS:
            self.atr = bytes(atr)
        return self

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU and return (data, SW1SW2)."""
        if self._card is None:
            raise TransportError("not connected to a card")
        scard = _scard()
        hresult, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS and not self._card_present():
            raise CardRemoved("transmit: card removed during the command")
        check(hresult, "transmit")
        raw = bytes(response)
        if len(raw) < 2:
            # An empty answer is how a reader reports a card that went away mid-command.
            if not self._card_present(settle=1.0):
                raise CardRemoved("transmit: card removed during the command")
            raise ProtocolError("card response shorter than a status word")
        return raw[:-2], (raw[-2] << 8) | raw[-1]

    def _card_present(self, settle: float = 0.0) -> bool:
        # The reader may notice the removal a little after the failed exchange: look again
        # for up to `settle` seconds before calling it a protocol error.
        scard = _scard()
        deadline = time.monotonic() + settle
        while True:
            hresult, _name, state, _proto, _atr = scard.SCardStatus(self._card)
            if hresult != scard.SCARD_S_SUCCESS or not state & _SCARD_PRESENT:
                return False
            if time.monotonic() >= deadline:
                return True
            time.sleep(0.05)

    def close(self) -> None:
        """Disconnect (leaving the card powered) and release the context."""
        scard = _scard()
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            self._card = None
        if self._ctx is not None:
            scard.SCardReleaseContext(self._ctx)
            self._ctx = None

    def __enter__(self) -> PcscTransport:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def call_with_timeout(fn: Callable[[], T], timeout: float, what: str) -> T:
    """Run a blocking call in a daemon thread; raise DeviceTimeout if it does not finish.

    A mute card blocks SCardTransmit until the card is pulled; the abandoned thread then ends
    by itself. A daemon thread (not an executor) so that it never holds up interpreter exit.
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"pcsc-{what}", daemon=True).start()
    if not done.wait(timeout):
        raise DeviceTimeout(f"{what}: no answer within {timeout:g} s")
    if "error" in box:
        error = box["error"]
        if isinstance(error, DeviceError):
            raise error
        raise TransportError(f"{what}: {error}") from error
    value: T = box["value"]
    return value
