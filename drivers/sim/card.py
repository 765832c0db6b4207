"""Virtual EMV/PBOC bank cards for pcscd's vpcd reader (stdlib sockets, vpcd protocol).

vpcd protocol (vsmartcard): each message is a 2-byte big-endian length and a payload; a 1-byte
payload is control (0 power off, 1 power on, 2 reset, 4 ATR request, answered with the ATR),
anything longer is a command APDU answered with the response APDU. Closing the socket pulls the
card out of the reader.

The card's identity and applications come from `drivers.sim.card_profiles`; the caller hands
in the identity (`CardIdentity`, or `CardIdentity.of(identity)` for a synthetic customer).

Faults switch at runtime (`VirtualCardDevice.set_fault`, or the control socket: one text line
per command, answered "ok ..." or "error ..."):
  fault none | fault pull [N] | fault mute | fault wrong_sw      insert | remove | status
"""

from __future__ import annotations

import contextlib
import enum
import logging
import socket
import struct
import threading

from drivers import tlv
from drivers.errors import TransportError
from drivers.sim.card_profiles import (
    PROFILES,
    App,
    CardIdentity,
    CardProfile,
    atr_with_tck,
    profile,
)
from drivers.sim.card_profiles import _t as _t

__all__ = [
    "PROFILES",
    "CardIdentity",
    "CardProfile",
    "ControlServer",
    "Fault",
    "VirtualCard",
    "VirtualCardDevice",
    "atr_with_tck",
    "profile",
]

log = logging.getLogger(__name__)

VPCD_HOST = "127.0.0.1"
VPCD_PORT = 35963  # reader "Virtual PCD 00 00"; 35964 is "Virtual PCD 00 01"


class Fault(enum.StrEnum):
    """Switchable card faults."""

    none = "none"
    pull = "pull"  # the card leaves the reader after N more APDUs (pulled mid-read)
    mute = "mute"  # the card stops answering (no response APDU)
    wrong_sw = "wrong_sw"  # GPO and READ RECORD answer 6F00 instead of data


SW_OK = b"\x90\x00"
T0_CHUNK = 0x10  # bytes per GET RESPONSE, small enough to force several chained 61xx


class VirtualCard:
    """The card's APDU behaviour: pure, no sockets (answers bytes for bytes)."""

    def __init__(self, card_profile: CardProfile) -> None:
        self.profile = card_profile
        self.fault = Fault.none
        self.selected: App | None = None
        self._pending = b""  # T=0 data waiting for GET RESPONSE

    def reset(self) -> None:
        """Forget the selected application (power cycle)."""
        self.selected = None
        self._pending = b""

    def _fci(self, app: App) -> bytes:
        a5 = [_t(0x50, app.label.encode()), _t(0x87, bytes([app.priority]))]
        if app.pdol:
            a5.append(_t(0x9F38, app.pdol))
        return _t(0x6F, [_t(0x84, app.aid), _t(0xA5, a5)])

    def _entry(self, app: App) -> bytes:
        return _t(
            0x61, [_t(0x4F, app.aid), _t(0x50, app.label.encode()), _t(0x87, bytes([app.priority]))]
        )

    def _select(self, name: bytes) -> bytes:
        self.selected = None
        if name == b"1PAY.SYS.DDF01" and self.profile.pse:
            return (
                _t(0x6F, [_t(0x84, name), _t(0xA5, [_t(0x88, b"\x01"), _t(0x5F2D, b"zhen")])])
                + SW_OK
            )
        if name == b"2PAY.SYS.DDF01" and self.profile.ppse:
            entries = _t(0xBF0C, [self._entry(a) for a in self.profile.apps])
            return _t(0x6F, [_t(0x84, name), _t(0xA5, entries)]) + SW_OK
        for app in self.profile.apps:
            if app.aid.startswith(name) and len(name) >= 5:  # partial selection (Book 1 §12.3.3)
                self.selected = app
                return self._fci(app) + SW_OK
        return b"\x6a\x82"

    def _gpo(self, body: bytes) -> bytes:
        app = self.selected
        if app is None:
            return b"\x69\x85"
        expected = sum(n for _, n in tlv.parse_dol(app.pdol))
        if len(body) < 2 or body[0] != 0x83 or body[1] != expected or len(body) != 2 + expected:
            return b"\x67\x00"
        aip = b"\x19\x80"
        if app.gpo_format == 1:
            return _t(0x80, aip + app.afl) + SW_OK
        return _t(0x77, [_t(0x82, aip), _t(0x94, app.afl), app.gpo_extra]) + SW_OK

    def _read_record(self, p1: int, p2: int) -> bytes:
        sfi = p2 >> 3
        if self.profile.pse and sfi == 1 and self.selected is None:
            if p1 == 1:
                return _t(0x70, [self._entry(a) for a in self.profile.apps]) + SW_OK
            return b"\x6a\x83"
        if self.selected is None:
            return b"\x69\x85"
        rec = self.selected.records.get((sfi, p1))
        return rec + SW_OK if rec is not None else b"\x6a\x83"

    def _process(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        lc = apdu[4] if len(apdu) > 5 else 0
        body = apdu[5 : 5 + lc]
        if self.fault is Fault.wrong_sw and ins in (0xA8, 0xB2) and self.selected is not None:
            return b"\x6f\x00"
        if ins == 0xA4 and p1 == 0x04:
            return self._select(bytes(body))
        if ins == 0xA8 and cla == 0x80:
            return self._gpo(bytes(body))
        if ins == 0xB2 and p2 & 0x07 == 0x04:
            return self._read_record(p1, p2)
        return b"\x6d\x00"

    def respond(self, apdu: bytes) -> bytes:
        """Answer one command APDU with response data + SW1 SW2."""
        if not self.profile.t0:
            return self._process(apdu)
        return self._respond_t0(apdu)

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Be a `CardTransport` in-process (no pcscd): (data, SW1SW2)."""
        raw = self.respond(apdu)
        return raw[:-2], int.from_bytes(raw[-2:], "big")

    def _respond_t0(self, apdu: bytes) -> bytes:
        # ISO 7816-3 §10.3: case 4 answers 61xx and waits for GET RESPONSE; case 2 with the
        # wrong Le answers 6Cxx (the exact length).
        if apdu[1:2] == b"\xc0":
            chunk, self._pending = self._pending[: apdu[4] or 256], self._pending[apdu[4] or 256 :]
            tail = bytes([0x61, min(len(self._pending), T0_CHUNK)]) if self._pending else SW_OK
            return chunk + tail
        self._pending = b""
        case4 = len(apdu) > 5 and len(apdu) >= 5 + apdu[4]
        answer = self._process(apdu[:-1] + b"\x00" if len(apdu) == 5 else apdu)
        data, sw = answer[:-2], answer[-2:]
        if sw != SW_OK or not data:
            return answer
        if case4:
            self._pending = data
            return bytes([0x61, min(len(data), T0_CHUNK)])
        if apdu[4] != len(data):
            return bytes([0x6C, len(data)])
        return answer


class VirtualCardDevice:
    """A virtual card in a vpcd reader: a thread that holds the socket while inserted."""

    def __init__(
        self,
        card: VirtualCard,
        host: str = VPCD_HOST,
        port: int = VPCD_PORT,
        pull_after: int = 3,
    ) -> None:
        self.card = card
        self.host, self.port = host, port
        self.pull_after = pull_after
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._countdown = -1
        self.apdus = 0  # commands answered since insertion (for tests and the demo)

    @property
    def inserted(self) -> bool:
        """Tell whether the card is in the reader."""
        return self._sock is not None

    def set_fault(self, fault: Fault | str, pull_after: int | None = None) -> None:
        """Switch a fault on (or off with Fault.none) at runtime."""
        fault = Fault(fault)
        with self._lock:
            self.card.fault = fault
            if pull_after is not None:
                self.pull_after = pull_after
            self._countdown = self.pull_after if fault is Fault.pull else -1

    def insert(self, timeout: float = 5.0) -> None:
        """Put the card in the reader (connect to vpcd)."""
        with self._lock:
            if self._sock is not None:
                return
            try:
                sock = socket.create_connection((self.host, self.port), timeout=timeout)
            except OSError as exc:
                raise TransportError(f"vpcd not reachable on {self.host}:{self.port}") from exc
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
            self.apdus = 0
            self.card.reset()
            if self.card.fault is Fault.pull:
                self._countdown = self.pull_after
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Pull the card out (close the socket)."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            try:
                # vpcd writes length and payload in two sends; acknowledging at once keeps
                # Nagle + delayed ACK from adding ~40 ms to every APDU.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                chunk = sock.recv(n - len(buf))
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _serve(self, sock: socket.socket) -> None:
        while True:
            head = self._recv_exact(sock, 2)
            if head is None:
                break
            (length,) = struct.unpack(">H", head)
            msg = self._recv_exact(sock, length)
            if msg is None:
                break
            reply = self._answer(msg)
            if reply is _PULL:
                self.remove()
                break
            if reply is None:
                continue  # mute: never answer; pcscd waits until the card is pulled
            try:
                sock.sendall(struct.pack(">H", len(reply)) + reply)
            except OSError:
                break
        with self._lock:
            if self._sock is sock:
                self._sock = None
                sock.close()

    def _answer(self, msg: bytes) -> bytes | None:
        if len(msg) == 1:
            if msg[0] == 4:
                return self.card.profile.atr
            if msg[0] in (0, 1, 2):
                self.card.reset()
            return None  # power on/off/reset have no answer in the vpcd protocol
        with self._lock:
            fault = self.card.fault
            if fault is Fault.mute:
                return None
            if fault is Fault.pull:
                if self._countdown <= 0:
                    return _PULL
                self._countdown -= 1
            self.apdus += 1
        return self.card.respond(msg)


_PULL = b"pull"


class ControlServer:
    """A line-based control socket on loopback to switch faults and insert/remove the card."""

    def __init__(self, device: VirtualCardDevice, port: int = 0) -> None:
        self.device = device
        self._server = socket.create_server(("127.0.0.1", port))
        self.port: int = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop = threading.Event()

    def start(self) -> ControlServer:
        """Start answering commands in a thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop answering commands."""
        self._stop.set()
        self._server.close()

    def handle(self, line: str) -> str:
        """Execute one control command and return the answer line."""
        words = line.split()
        try:
            if not words:
                return "error empty command"
            if words[0] == "fault" and len(words) >= 2:
                self.device.set_fault(words[1], int(words[2]) if len(words) > 2 else None)
            elif words[0] == "insert":
                self.device.insert()
            elif words[0] == "remove":
                self.device.remove()
            elif words[0] != "status":
                return f"error unknown command {words[0]!r}"
        except (ValueError, TransportError) as exc:
            return f"error {exc}"
        d = self.device
        return f"ok inserted={int(d.inserted)} fault={d.card.fault} apdus={d.apdus}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn, conn.makefile("rw", encoding="utf-8", newline="\n") as f:
                for line in f:
                    f.write(self.handle(line) + "\n")
                    f.flush()
