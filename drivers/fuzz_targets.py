"""Fuzz targets: every driver parser as name -> (callable(bytes) -> object, seed corpus).

A target may raise only the drivers' own typed errors (`DeviceError` subclasses); anything else
is a crash. Other driver packages join by exposing `fuzz_targets() -> dict[name, Target]` in a
module listed in `_OPTIONAL` (imported lazily; skipped when not installed).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["Target", "targets"]

Target = tuple[Callable[[bytes], object], list[bytes]]

_OPTIONAL = ("drivers.idcard.codec", "drivers.printer.status", "drivers.fuzz_targets_serial")

# Seed captures. E2 = MichaelsPlayground Visa card log; E3 = CardPlatform PBOC PSE FCI (see
# docs/drivers.md, "Sources"); the rest are built by the simulator from synthetic identities.
_TLV_SEEDS = [
    bytes.fromhex(h)
    for h in (
        # E2 Lloyds Visa debit: PPSE, SELECT AID and GPO (format 2, 57 inside) responses.
        "6f2b840e325041592e5359532e4444463031a519bf0c1661144f07a00000000310109f0a080001050100000000",
        "6f5d8407a0000000031010a5525010564953412044454249542020202020208701029f38189f66049f02069f03"
        "069f1a0295055f2a029a039c019f37045f2d02656ebf0c1a9f5a0531082608269f0a080001050100000000bf63"
        "04df200180",
        "77478202200057134921828094896752d25022013650000000000f5f3401009f100706040a03a020009f26089f"
        "98ecaea782d0739f2701809f3602033c9f6c0216009f6e0420700000",
        "770E82021980940810010100180101 00".replace(" ", ""),
        "800A1980100101001801010 0".replace(" ", ""),
        "7081FB5A086222021001098550" + "00" * 0xF1,
    )
]


def _card_seeds() -> list[bytes]:
    from drivers.emv.apdu import read_record, select
    from drivers.sim.card import CardIdentity, VirtualCard, profile

    ident = CardIdentity("6222021001098550814", "4912", "ZHANG/SAN", "110105199001011234")
    out: list[bytes] = []
    for name in ("unionpay_debit", "contactless"):
        card = VirtualCard(profile(name, ident))
        for apdu in (select(b"1PAY.SYS.DDF01"), select(b"2PAY.SYS.DDF01"), read_record(1, 1)):
            out.append(card.respond(apdu)[:-2])
    return out


class _ReplayCard:
    """A card whose every answer comes from a simulator except one, replaced by fuzz bytes."""

    def __init__(self, data: bytes) -> None:
        from drivers.sim.card import CardIdentity, VirtualCard, profile

        names = ("unionpay_debit", "contactless", "t0", "no_pse")
        ident = CardIdentity("6222021001098550814", "4912", "ZHANG/SAN", "110105199001011234")
        self.card = VirtualCard(profile(names[data[0] % 4] if data else names[0], ident))
        self.victim = data[1] % 12 if len(data) > 1 else 0
        self.payload = data[2:]
        self.count = 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.count += 1
        if self.count > 200:
            from drivers.errors import ProtocolError

            raise ProtocolError("too many commands")
        if self.count - 1 == self.victim:
            raw = self.payload
            return raw[:-2], int.from_bytes(raw[-2:], "big") if len(raw) >= 2 else 0x6F00
        return self.card.transmit(apdu)


def _text(fn: Callable[[str], object]) -> Callable[[bytes], object]:
    return lambda data: fn(data.decode("latin-1"))


def _swipe_seeds() -> list[bytes]:
    from drivers.sim.magstripe import card_swipe, passbook_swipe

    return [
        card_swipe("6222021001098550814", "4912", "120", "ZHANG/SAN").encode(),
        b";6217993300000000015=49122205180600000?",
        b"%B5350290149345177^FATEHI/SUALEH^16042010000000000000000000000000000567001000?",
        b"+6202408082356005=15046200000010000000000004976?",
        passbook_swipe("62284800000000000123").encode(),
    ]


def targets() -> dict[str, Target]:
    """Return every available fuzz target."""
    from drivers import tlv
    from drivers.emv.reader import EmvReader, parse_afl, parse_gpo, parse_track2_equivalent
    from drivers.magstripe import (
        classify_swipe,
        parse_msr_response,
        parse_passbook,
        parse_swipe,
        parse_track,
    )
    from drivers.sim.magstripe import msr_frame

    swipes = _swipe_seeds()
    card_seeds = _card_seeds()
    reader = EmvReader()
    out: dict[str, Target] = {
        "tlv": (tlv.parse, _TLV_SEEDS + card_seeds),
        "tlv_roundtrip": (lambda d: tlv.encode(tlv.parse(d)), _TLV_SEEDS),
        "dol": (tlv.parse_dol, [bytes.fromhex("9F66049F02069F03069F1A0295055F2A029A039C019F3704")]),
        "gpo": (parse_gpo, _TLV_SEEDS[2:5]),
        "afl": (parse_afl, [bytes.fromhex("1001010018010100")]),
        "track2_equivalent": (
            parse_track2_equivalent,
            [bytes.fromhex("6222021001098550814D49121202219991930F")],
        ),
        "track": (_text(parse_track), swipes),
        "swipe": (_text(parse_swipe), swipes),
        "passbook": (_text(parse_passbook), swipes),
        "classify_swipe": (_text(classify_swipe), swipes),
        "msr_response": (
            parse_msr_response,
            [msr_frame({2: "6222021001098550814=49121202219991930"}), msr_frame({}, 0x31)],
        ),
        "emv_read": (
            lambda d: reader.read(_ReplayCard(d)),
            [
                bytes([p, v]) + s + b"\x90\x00"
                for p in range(4)
                for v in range(0, 12, 3)
                for s in card_seeds[:2]
            ],
        ),
    }
    for module_name in _OPTIONAL:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        extra = getattr(module, "fuzz_targets", None)
        if callable(extra):
            out.update(extra())
        table = getattr(module, "TARGETS", None)
        if isinstance(table, dict):
            out.update(table)
    return out
