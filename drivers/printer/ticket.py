"""Queue-ticket layout and its ESC/POS bytes: python-escpos for styles, QR and cut; Chinese mode by hand.

python-escpos never sends FS & and only switches to GB18030 for U+4E00–U+9FA5 text
(docs/protocols.md#escpos-chinese-text), so Chinese lines are written raw as GB18030 after ESC @ FS &.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from escpos.printer import Dummy

from branch_common.i18n import ZH_CN
from branch_common.wait_words import wait_words

__all__ = ["TicketLayout", "sample_ticket", "ticket_bytes"]

INIT = b"\x1b\x40"
KANJI_ON = b"\x1c\x26"  # FS & (P5)
KANJI_OFF = b"\x1c\x2e"  # FS . (P4)


@dataclass(frozen=True)
class TicketLayout:
    """What a queue ticket shows."""

    branch_name: str
    ticket_number: str
    service: str
    people_ahead: int
    wait_min_minutes: int
    wait_max_minutes: int
    """The estimate in whole minutes; (0, 0) prints "next" (branch_common.wait_words)."""
    issued_at: datetime
    token: str
    english_line: str = "Please wait for your number to be called."

    def chinese_lines(self) -> list[str]:
        """The Chinese text lines, in print order (for checking a printout)."""
        return [
            self.branch_name,
            "您的排队号码",
            f"业务：{self.service}",
            f"前面还有 {self.people_ahead} 人等候",
            wait_words(self.wait_min_minutes, self.wait_max_minutes, ZH_CN),
            self.issued_at.strftime("%Y年%m月%d日 %H:%M"),
            "请扫码查看排队进度",
        ]


def _gb(text: str) -> bytes:
    return text.encode("gb18030") + b"\n"


def ticket_bytes(layout: TicketLayout) -> bytes:
    """The whole ticket as ESC/POS bytes, ending with a cut."""
    lines = layout.chinese_lines()
    p = Dummy()
    p._raw(INIT + KANJI_ON)
    p.set(align="center", bold=True, double_width=True, double_height=True)
    p._raw(_gb(lines[0]))
    p.set(normal_textsize=True, align="center", bold=False)
    p._raw(_gb(lines[1]))
    p.set(custom_size=True, width=4, height=4, align="center", bold=True)  # GS ! 0x33
    p._raw(layout.ticket_number.encode("ascii") + b"\n")
    p.set(normal_textsize=True, align="left", bold=False)
    for line in lines[2:6]:
        p._raw(_gb(line))
    p.set(align="center")
    p.qr(layout.token, native=True, size=6, ec=1)
    p._raw(b"\n" + _gb(lines[6]))
    # English line outside Chinese mode so single-byte printers print it too.
    p._raw(KANJI_OFF + layout.english_line.encode("ascii", "replace") + b"\n" + KANJI_ON)
    p.cut()
    return bytes(p.output)


def sample_ticket(now: datetime | None = None) -> TicketLayout:
    """A sample ticket for print-test."""
    return TicketLayout(
        branch_name="示例银行朝阳支行",
        ticket_number="A012",
        service="个人业务",
        people_ahead=3,
        wait_min_minutes=5,
        wait_max_minutes=12,
        issued_at=now or datetime.now().replace(second=0, microsecond=0),
        token="T-SAMPLE-0001",  # noqa: S106 (a ticket-tracking token, not a password)
    )
