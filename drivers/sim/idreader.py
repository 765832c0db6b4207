"""Simulated SAM_V resident ID reader on a pty, presenting the synthetic identities it is given.

Faults switch at runtime (methods or the JSON-lines control socket).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from drivers.errors import ProtocolError
from drivers.idcard.codec import (
    CMD_FIND,
    CMD_READ_ADDRESS,
    CMD_READ_FP,
    CMD_READ_TEXT,
    CMD_SAM_ID,
    CMD_SAM_RESET,
    CMD_SAM_STATUS,
    CMD_SELECT,
    FrameReceiver,
    build_response,
    parse_command,
)
from drivers.idcard.tables import NATIONS
from drivers.idcard.text import LONG_TERM, encode_text_block
from drivers.sim.identity import Identity
from drivers.sim.pty import PtyDevice

__all__ = ["FAULTS", "IdReaderFaults", "IdReaderSim", "id_card_fields"]

# Real GB/T 2260 district codes of the synthetic customers, with their public names:
# (province-level prefix, city or "" for municipalities, district).
_REGION_NAMES: dict[str, tuple[str, str, str]] = {
    "110101": ("北京市", "", "东城区"),
    "110102": ("北京市", "", "西城区"),
    "110105": ("北京市", "", "朝阳区"),
    "110106": ("北京市", "", "丰台区"),
    "110108": ("北京市", "", "海淀区"),
    "110114": ("北京市", "", "昌平区"),
    "120101": ("天津市", "", "和平区"),
    "120104": ("天津市", "", "南开区"),
    "130102": ("河北省", "石家庄市", "长安区"),
    "130203": ("河北省", "唐山市", "路北区"),
    "140105": ("山西省", "太原市", "小店区"),
    "150102": ("内蒙古自治区", "呼和浩特市", "新城区"),
    "210102": ("辽宁省", "沈阳市", "和平区"),
    "210202": ("辽宁省", "大连市", "中山区"),
    "220102": ("吉林省", "长春市", "南关区"),
    "230102": ("黑龙江省", "哈尔滨市", "道里区"),
    "310101": ("上海市", "", "黄浦区"),
    "310104": ("上海市", "", "徐汇区"),
    "310115": ("上海市", "", "浦东新区"),
    "320102": ("江苏省", "南京市", "玄武区"),
    "320505": ("江苏省", "苏州市", "虎丘区"),
    "330106": ("浙江省", "杭州市", "西湖区"),
    "330203": ("浙江省", "宁波市", "海曙区"),
    "340104": ("安徽省", "合肥市", "蜀山区"),
    "350102": ("福建省", "福州市", "鼓楼区"),
    "350203": ("福建省", "厦门市", "思明区"),
    "360102": ("江西省", "南昌市", "东湖区"),
    "370102": ("山东省", "济南市", "历下区"),
    "370202": ("山东省", "青岛市", "市南区"),
    "410105": ("河南省", "郑州市", "金水区"),
    "420106": ("湖北省", "武汉市", "武昌区"),
    "430104": ("湖南省", "长沙市", "岳麓区"),
    "440106": ("广东省", "广州市", "天河区"),
    "440304": ("广东省", "深圳市", "福田区"),
    "450103": ("广西壮族自治区", "南宁市", "青秀区"),
    "460106": ("海南省", "海口市", "龙华区"),
    "500103": ("重庆市", "", "渝中区"),
    "510104": ("四川省", "成都市", "锦江区"),
    "520102": ("贵州省", "贵阳市", "南明区"),
    "530102": ("云南省", "昆明市", "五华区"),
    "610113": ("陕西省", "西安市", "雁塔区"),
    "620102": ("甘肃省", "兰州市", "城关区"),
    "650102": ("新疆维吾尔自治区", "乌鲁木齐市", "天山区"),
}
_STREETS = (
    "建国路",
    "中山路",
    "人民路",
    "解放路",
    "和平街",
    "光明路",
    "新华街",
    "长江路",
    "文化路",
    "幸福里",
)
# Every WLT photo capture starts with these bytes (docs/protocols.md#sam_v-photo-and-fingerprint).
_WLT_HEAD = bytes.fromhex("574c66007e00320000ff85")


def _address(rng: random.Random, region: str) -> tuple[str, str]:
    province, city, district = _REGION_NAMES.get(region, ("北京市", "", "朝阳区"))
    street = _STREETS[rng.randrange(len(_STREETS))]
    address = f"{province}{city}{district}{street}{rng.randrange(1, 300)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2600)}室"
    police = f"{province}公安局" if not city else f"{city}公安局"
    authority = police + district.removesuffix("新区").removesuffix("区") + "分局"
    return address, authority


def _valid_to(issued: date, birth: date) -> str:
    # GA 467 validity periods by age at issue: <16 5 y, 16-25 10 y, 26-45 20 y, 46+ long-term.
    age = (issued - birth).days // 365
    years = 5 if age < 16 else 10 if age < 26 else 20 if age < 46 else 0
    if years == 0:
        return LONG_TERM
    try:
        return issued.replace(year=issued.year + years).isoformat()
    except ValueError:  # 29 February
        return (issued + timedelta(days=1)).replace(year=issued.year + years).isoformat()


def id_card_fields(identity: Identity, seed: int = 1, as_of: date | None = None) -> dict[str, str]:
    """The face of a synthetic customer's resident ID card (read-id field names).

    Address, authority, nation and issue date are made up per customer and seed; the rest is
    the customer's own.
    """
    today = as_of or date.today()
    rng = random.Random(f"idreader/{seed}/{identity.id_number}")  # noqa: S311 (synthetic data)
    birth = date.fromisoformat(identity.birth_date)
    issued = today - timedelta(days=rng.randrange(1, 5 * 365))
    address, authority = _address(rng, identity.region_code)
    nation = "01" if rng.random() < 0.9 else rng.choice(sorted(NATIONS))
    return {
        "name": identity.name,
        "gender": identity.gender,
        "nation": nation,
        "birth": identity.birth_date,
        "address": address,
        "id_number": identity.id_number,
        "authority": authority,
        "valid_from": issued.isoformat(),
        "valid_to": _valid_to(issued, birth),
    }


FAULTS = ("no_card", "checksum", "garbage", "slow", "sam_fault", "read_fail", "mute")


@dataclass
class IdReaderFaults:
    """Faults switchable at runtime."""

    no_card: bool = False  # find-card always answers 80 even with a card placed
    checksum: bool = False  # every answer carries a wrong checksum
    garbage: bool = False  # random bytes before and after every answer
    slow: float = 0.0  # seconds of delay before every answer
    sam_fault: bool = False  # SAM status answers 60 until a SAM reset
    read_fail: bool = False  # read answers 41
    mute: bool = False  # no answer at all


@dataclass
class _Card:
    text: bytes
    fields: dict[str, str]
    card_type: str = " "
    selected: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class IdReaderSim(PtyDevice):
    """A SAM_V reader on a pty: answers find/select/read from a placed synthetic card."""

    def __init__(
        self,
        link: str | os.PathLike[str],
        identities: Sequence[Identity],
        *,
        seed: int = 1,
    ) -> None:
        super().__init__(link)
        if not identities:
            raise ValueError("give the reader at least one identity to present")
        self.seed = seed
        self.identities = [id_card_fields(identity, seed) for identity in identities]
        self.faults = IdReaderFaults()
        self._rng = random.Random(f"idreader-sim/{seed}")  # noqa: S311 (simulated noise)
        self._rx = FrameReceiver()
        self._card: _Card | None = None
        self._lock = threading.Lock()
        self.commands: list[tuple[int, int]] = []
        self.sam_id = bytes(range(16))

    # -- Python API -------------------------------------------------------------------------
    def place(
        self, who: int | Identity = 0, card_type: str = " ", **overrides: str
    ) -> dict[str, str]:
        """Put a card on the reader: identity number `who`, or this identity; return its fields."""
        if isinstance(who, Identity):
            fields = id_card_fields(who, self.seed)
        else:
            fields = dict(self.identities[who % len(self.identities)])
        fields.update(overrides)
        with self._lock:
            self._card = _Card(encode_text_block(fields, card_type), fields, card_type)
        return fields

    def place_block(self, text: bytes) -> None:
        """Put a card with a raw 256-byte text block on the reader."""
        with self._lock:
            self._card = _Card(text, {}, chr(text[248]))

    def remove(self) -> None:
        """Take the card off the reader."""
        with self._lock:
            self._card = None

    def set_fault(self, name: str, value: Any = True) -> None:
        """Switch a fault on or off (`slow` takes seconds)."""
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        setattr(self.faults, name, float(value) if name == "slow" else bool(value))

    def clear_faults(self) -> None:
        """Switch every fault off."""
        self.faults = IdReaderFaults()

    def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        """Control-socket entry: place / remove / fault / clear / unplug / replug / status."""
        cmd = request.get("cmd")
        if cmd == "place":
            fields = self.place(int(request.get("index", 0)), str(request.get("card_type", " ")))
            return {"ok": True, "id_number_tail": fields["id_number"][-4:]}
        if cmd == "remove":
            self.remove()
        elif cmd == "fault":
            self.set_fault(str(request["name"]), request.get("value", True))
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
            "card": self._card is not None,
            "faults": vars(self.faults),
            "plugged": self.pty.plugged,
        }

    # -- serving ----------------------------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        """Answer every complete host frame."""
        for frame in self._rx.feed(data):
            try:
                command = parse_command(frame)
            except ProtocolError:
                self._answer(build_response(0x10))
                continue
            self.commands.append((command.cmd, command.para))
            self._answer(self._respond((command.cmd, command.para)))

    def _respond(self, cmd: tuple[int, int]) -> bytes:
        f = self.faults
        with self._lock:
            card = self._card
            if cmd == CMD_SAM_STATUS:
                return build_response(0x60 if f.sam_fault else 0x90)
            if cmd == CMD_SAM_RESET:
                f.sam_fault = False
                return build_response(0x90)
            if cmd == CMD_SAM_ID:
                return build_response(0x90, self.sam_id)
            if f.sam_fault:
                return build_response(0x60)
            if cmd == CMD_FIND:
                if card is None or f.no_card:
                    return build_response(0x80)
                return build_response(0x9F, b"\x00\x00\x00\x00")
            if cmd == CMD_SELECT:
                if card is None or f.no_card:
                    return build_response(0x81)
                card.selected = True
                return build_response(0x90, bytes(8))
            if cmd in (CMD_READ_TEXT, CMD_READ_FP):
                if card is None or not card.selected:
                    return build_response(0x41)
                if f.read_fail:
                    return build_response(0x41)
                photo = _WLT_HEAD + self._rng.randbytes(1024 - len(_WLT_HEAD))
                if cmd == CMD_READ_TEXT:
                    return build_response(0x90, b"\x01\x00\x04\x00" + card.text + photo)
                fp = self._rng.randbytes(1024)
                return build_response(0x90, b"\x01\x00\x04\x00\x04\x00" + card.text + photo + fp)
            if cmd == CMD_READ_ADDRESS:
                return build_response(0x91)
            return build_response(0x21)

    def _answer(self, frame: bytes) -> None:
        f = self.faults
        if f.mute:
            return
        if f.slow:
            time.sleep(f.slow)
        if f.checksum:
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        if f.garbage:
            noise = self._rng.randbytes(self._rng.randrange(1, 12)).replace(b"\xaa", b"\x55")
            frame = noise + frame + noise[::-1]
        self.send(frame)
