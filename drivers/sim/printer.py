"""Simulated ESC/POS ticket printer on a pty: records bytes, answers DLE EOT from its simulated
state, and renders every ticket (split at each cut) to PNG with Pillow, qrcode and a CJK font."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import qrcode
from PIL import Image, ImageDraw, ImageFont

from drivers.sim.escpos_stream import EscPosParser, Op
from drivers.sim.pty import PtyDevice

__all__ = [
    "CJK_FONTS",
    "FAULTS",
    "PrinterFaults",
    "PrinterSim",
    "RenderedTicket",
    "find_cjk_font",
    "interpret_escpos",
    "render_ticket",
]

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
FAULTS = ("near_end", "paper_end", "cover_open", "offline", "error", "mute")
PAPER_WIDTH = 576  # dots: 80 mm paper at 203 dpi
BASE = 24  # dots per line of standard font A (12×24; 24×24 for Chinese)
_QR_LEVELS = {
    0x30: qrcode.constants.ERROR_CORRECT_L,
    0x31: qrcode.constants.ERROR_CORRECT_M,
    0x32: qrcode.constants.ERROR_CORRECT_Q,
    0x33: qrcode.constants.ERROR_CORRECT_H,
}


def find_cjk_font() -> str | None:
    """Path of a CJK font on this system, or None."""
    for path in CJK_FONTS:
        if os.path.exists(path):
            return path
    return None


@dataclass
class PrinterFaults:
    """Faults switchable at runtime."""

    near_end: bool = False
    paper_end: bool = False
    cover_open: bool = False
    offline: bool = False
    error: bool = False
    mute: bool = False  # no status answers at all


@dataclass
class _Run:
    text: str
    width: int
    height: int
    bold: bool


@dataclass
class _Line:
    align: int
    runs: list[_Run] = field(default_factory=list)
    qr: str | None = None
    qr_module: int = 3
    qr_level: int = 0x30


@dataclass
class RenderedTicket:
    """A ticket the simulator printed: its text lines, QR contents and PNG path."""

    lines: list[str]
    qr: list[str]
    png: Path | None
    raw: bytes


class _Page:
    """Text formatting state plus the lines of the ticket being printed."""

    def __init__(self) -> None:
        self.reset()
        self.lines: list[_Line] = []
        self.current = _Line(0)

    def reset(self) -> None:
        self.kanji = False
        self.width = self.height = 1
        self.bold = False
        self.align = 0
        self.qr_data = ""
        self.qr_module = 3
        self.qr_level = 0x30

    def end_line(self) -> None:
        self.current.align = self.current.align if self.current.runs else self.align
        self.lines.append(self.current)
        self.current = _Line(self.align)

    def text(self, raw: bytes) -> None:
        if not self.current.runs:
            self.current.align = self.align
        # Kanji mode: GB18030 (P5); otherwise single-byte PC437, the power-on code page.
        text = raw.decode("gb18030", "replace") if self.kanji else raw.decode("cp437", "replace")
        self.current.runs.append(_Run(text, self.width, self.height, self.bold))

    def apply(self, op: Op) -> None:
        a = op.args[0] if op.args else 0
        name = op.name
        if name == "text":
            self.text(op.args)
        elif name == "lf":
            self.end_line()
        elif name == "init":
            self.reset()
        elif name == "kanji_on":
            self.kanji = True
        elif name == "kanji_off":
            self.kanji = False
        elif name == "char_size":
            self.width, self.height = (a >> 4 & 7) + 1, (a & 7) + 1
        elif name == "print_mode":
            self.width = 2 if a & 0x20 else 1
            self.height = 2 if a & 0x10 else 1
            self.bold = bool(a & 0x08)
        elif name == "align":
            self.align = a - 0x30 if a >= 0x30 else a
            self.align = min(max(self.align, 0), 2)
        elif name == "bold":
            self.bold = bool(a & 1)
        elif name == "feed":
            if self.current.runs:
                self.end_line()
            for _ in range(min(a, 20)):
                self.end_line()
        elif name == "qr_store":
            self.qr_data = op.args.decode("utf-8", "replace")
        elif name == "qr_module_size":
            self.qr_module = min(max(a, 1), 16)
        elif name == "qr_error_level":
            self.qr_level = a
        elif name == "qr_print":
            if self.current.runs:
                self.end_line()
            self.lines.append(
                _Line(self.align, qr=self.qr_data, qr_module=self.qr_module, qr_level=self.qr_level)
            )

    def take(self) -> list[_Line]:
        if self.current.runs:
            self.end_line()
        lines, self.lines = self.lines, []
        return lines


def _font(size: int, path: str | None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default()
    return ImageFont.truetype(path, size)


def render_ticket(lines: list[_Line], path: Path, font_path: str | None = None) -> None:
    """Draw the ticket's lines onto a PAPER_WIDTH-wide white PNG."""
    font_path = font_path or find_cjk_font()
    blocks: list[tuple[int, Image.Image]] = []
    for line in lines:
        if line.qr is not None:
            qr = qrcode.QRCode(
                error_correction=_QR_LEVELS.get(line.qr_level, qrcode.constants.ERROR_CORRECT_L),
                box_size=line.qr_module,
                border=4,
            )
            qr.add_data(line.qr)
            img = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
            blocks.append((line.align, img))
            continue
        if not line.runs:
            blocks.append((0, Image.new("L", (1, BASE), 255)))
            continue
        parts = []
        for run in line.runs:
            size = BASE * run.height
            font = _font(size, font_path)
            right = font.getbbox(run.text)[2]
            img = Image.new("L", (max(1, int(right) + 2), size + size // 4), 255)
            draw = ImageDraw.Draw(img)
            draw.text(
                (0, 0),
                run.text,
                font=font,
                fill=0,
                stroke_width=1 if run.bold else 0,
                stroke_fill=0,
            )
            if run.width != run.height:
                img = img.resize((max(1, img.width * run.width // run.height), img.height))
            parts.append(img)
        height = max(p.height for p in parts)
        joined = Image.new("L", (sum(p.width for p in parts), height), 255)
        x = 0
        for p in parts:
            joined.paste(p, (x, height - p.height))
            x += p.width
        blocks.append((line.align, joined))
    margin = 16
    total = sum(img.height for _, img in blocks) + 2 * margin
    page = Image.new("L", (PAPER_WIDTH, total), 255)
    y = margin
    for align, img in blocks:
        if img.width > PAPER_WIDTH - 2 * margin:
            img = img.resize((PAPER_WIDTH - 2 * margin, img.height))
        x = (margin, (PAPER_WIDTH - img.width) // 2, PAPER_WIDTH - margin - img.width)[align]
        page.paste(img, (x, y))
        y += img.height
    page.save(path)


class PrinterSim(PtyDevice):
    """An ESC/POS printer on a pty that renders each ticket to `out_dir/ticket-NNNN.png`."""

    def __init__(
        self, link: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, render: bool = True
    ) -> None:
        super().__init__(link)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.render = render
        self.faults = PrinterFaults()
        self.received = bytearray()
        self.tickets: list[RenderedTicket] = []
        self.discarded = 0
        self.status_queries = 0
        self._parser = EscPosParser()
        self._page = _Page()
        self._ticket_raw = bytearray()
        self._lock = threading.Lock()
        self._printed = threading.Condition(self._lock)
        self.font_path = find_cjk_font()

    # -- Python API -------------------------------------------------------------------------
    def set_fault(self, name: str, value: bool = True) -> None:
        """Switch a fault on or off."""
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        setattr(self.faults, name, bool(value))

    def clear_faults(self) -> None:
        """Switch every fault off."""
        self.faults = PrinterFaults()

    def wait_tickets(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until `count` tickets have been printed."""
        with self._printed:
            return self._printed.wait_for(lambda: len(self.tickets) >= count, timeout)

    def status_byte(self, n: int) -> int:
        """The simulated reply to DLE EOT n."""
        f = self.faults
        b = 0x12
        stopped = f.offline or f.cover_open or f.paper_end or f.error
        if n == 1 and stopped:
            b |= 0x08
        elif n == 2:
            b |= (
                (0x04 if f.cover_open else 0)
                | (0x20 if f.paper_end else 0)
                | (0x40 if f.error else 0)
            )
        elif n == 3 and f.error:
            b |= 0x04
        elif n == 4:
            b |= (0x0C if f.near_end or f.paper_end else 0) | (0x60 if f.paper_end else 0)
        return b

    def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        """Control-socket entry: fault / clear / unplug / replug / status."""
        cmd = request.get("cmd")
        if cmd == "fault":
            self.set_fault(str(request["name"]), bool(request.get("value", True)))
        elif cmd == "clear":
            self.clear_faults()
        elif cmd == "unplug":
            self.unplug()
        elif cmd == "replug":
            return {"ok": True, "tty": self.replug()}
        elif cmd != "status":
            raise ValueError(f"unknown command {cmd!r}")
        return {
            "ok": True,
            "faults": vars(self.faults),
            "tickets": [str(t.png) for t in self.tickets],
            "plugged": self.pty.plugged,
        }

    # -- serving ----------------------------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        """Record, parse and act on bytes from the host."""
        self.received += data
        for op in self._parser.feed(data):
            if op.name == "status":
                # Real-time command: answered at once from the simulated state (§4).
                self.status_queries += 1
                if not self.faults.mute and op.args and 1 <= op.args[0] <= 4:
                    self.send(bytes([self.status_byte(op.args[0])]))
                continue
            self._ticket_raw += op.raw
            self._page.apply(op)
            if op.name == "cut":
                self._finish_ticket()

    def _finish_ticket(self) -> None:
        lines = self._page.take()
        raw = bytes(self._ticket_raw)
        self._ticket_raw.clear()
        f = self.faults
        if f.offline or f.cover_open or f.paper_end or f.error:
            self.discarded += 1
            return
        png: Path | None = None
        if self.render:
            png = self.out_dir / f"ticket-{len(self.tickets) + 1:04d}.png"
            render_ticket(lines, png, self.font_path)
        text = ["".join(r.text for r in line.runs) for line in lines if line.runs]
        qrs = [line.qr for line in lines if line.qr is not None]
        with self._printed:
            self.tickets.append(RenderedTicket(text, qrs, png, raw))
            self._printed.notify_all()


def interpret_escpos(data: bytes) -> list[str]:
    """Parse a byte stream and apply it to a page; return the printed text lines (no rendering)."""
    from drivers.sim.escpos_stream import parse_escpos

    page = _Page()
    lines: list[str] = []
    for op in parse_escpos(data):
        page.apply(op)
        if op.name == "cut":
            lines += ["".join(r.text for r in line.runs) for line in page.take() if line.runs]
    lines += ["".join(r.text for r in line.runs) for line in page.take() if line.runs]
    return lines
