"""Virtual bank card profiles: the card's identity, its applications, records and ATR.

Pure data for `drivers.sim.card`: which directories (PSE, PPSE) the card offers, which
UnionPay applications, and the BER-TLV records carrying the identity handed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers import tlv
from drivers.sim.identity import Identity

__all__ = [
    "ATR_CL",
    "ATR_T0",
    "ATR_T1",
    "PROFILES",
    "App",
    "CardIdentity",
    "CardProfile",
    "atr_with_tck",
    "profile",
]


@dataclass(frozen=True)
class CardIdentity:
    """The synthetic person and card data a virtual card carries."""

    pan: str
    expiry: str  # YYMM
    name: str | None = None  # embossed name, Latin ("ZHANG/SAN"); Chinese debit cards often omit it
    holder_id: str | None = None  # PBOC 9F61
    service_code: str = "220"  # 2xx = international, chip present

    @classmethod
    def of(cls, identity: Identity) -> CardIdentity:
        """The card of a synthetic customer (its PAN and expiry, the ID number in 9F61)."""
        if identity.pan is None or identity.expiry is None:
            raise ValueError("this identity has no bank card")
        return cls(pan=identity.pan, expiry=identity.expiry, holder_id=identity.id_number)


def atr_with_tck(body_hex: str) -> bytes:
    """Append TCK (XOR of T0..last byte, ISO 7816-3 §8.2.5) to an ATR that needs one."""
    body = bytes.fromhex(body_hex)
    tck = 0
    for b in body[1:]:
        tck ^= b
    return body + bytes([tck])


ATR_T0 = bytes.fromhex("3B021450")  # T=0 only, 2 historical bytes, no TCK
ATR_T1 = atr_with_tck("3B8880010000000000000000")  # T=0 and T=1 offered
ATR_CL = atr_with_tck("3B8880014241424300000000")  # PC/SC part 3 style contactless ATR


def _bcd(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex(digits)


def _t(tag: int, value: bytes | list[bytes]) -> bytes:
    return tlv.encode_one(tag, value if isinstance(value, bytes) else b"".join(value))


@dataclass(frozen=True)
class App:
    """One payment application on the card."""

    aid: bytes
    label: str
    priority: int
    pdol: bytes  # empty: no PDOL
    gpo_format: int  # 1 or 2
    records: dict[tuple[int, int], bytes]  # (sfi, record) -> record template 70
    gpo_extra: bytes = b""  # objects returned in a format 2 GPO besides 82/94 (e.g. 57)

    @property
    def afl(self) -> bytes:
        """AFL covering every record, one entry per SFI."""
        out = bytearray()
        for sfi in sorted({s for s, _ in self.records}):
            recs = sorted(r for s, r in self.records if s == sfi)
            out += bytes([sfi << 3, recs[0], recs[-1], 0])
        return bytes(out)


@dataclass(frozen=True)
class CardProfile:
    """A kind of card: ATR, directories, applications, and T=0 behaviour."""

    name: str
    description: str
    atr: bytes
    pse: bool
    ppse: bool
    t0: bool
    apps: tuple[App, ...]


def _identity_records(
    ident: CardIdentity, pan_in_records: bool = True
) -> dict[tuple[int, int], bytes]:
    track2 = _bcd(f"{ident.pan}D{ident.expiry}{ident.service_code}0000000000")
    rec1 = [_t(0x57, track2)]
    if ident.name is not None:
        rec1.append(_t(0x5F20, ident.name.encode("ascii")))
    if ident.holder_id is not None:
        rec1.append(_t(0x9F61, ident.holder_id.encode("ascii")))
        rec1.append(_t(0x9F62, b"\x00"))
    rec2 = [_t(0x5F24, _bcd(ident.expiry + "31")), _t(0x5F34, b"\x01"), _t(0x5F28, b"\x01\x56")]
    if pan_in_records:
        rec2.insert(0, _t(0x5A, _bcd(ident.pan)))
    return {(2, 1): _t(0x70, rec1), (3, 1): _t(0x70, rec2)}


DEBIT_AID = bytes.fromhex("A000000333010101")
CREDIT_AID = bytes.fromhex("A000000333010102")
ECASH_AID = bytes.fromhex("A000000333010106")
CONTACT_PDOL = bytes.fromhex("9F7A019F02065F2A02")
QPBOC_PDOL = bytes.fromhex("9F66049F02069F03069F1A0295055F2A029A039C019F3704")


def _contact(name: str, ident: CardIdentity) -> CardProfile:
    t0 = name == "t0"
    app = App(DEBIT_AID, "PBOC DEBIT", 1, CONTACT_PDOL, 2, _identity_records(ident))
    return CardProfile(
        name,
        "UnionPay debit contact card with PSE"
        + (", T=0: answers 61xx to case 4 and 6Cxx to case 2" if t0 else ""),
        ATR_T0 if t0 else ATR_T1,
        pse=True,
        ppse=False,
        t0=t0,
        apps=(app,),
    )


def _contactless(name: str, ident: CardIdentity) -> CardProfile:
    track2 = _bcd(f"{ident.pan}D{ident.expiry}{ident.service_code}0000000000")
    recs = {(1, 1): _t(0x70, [_t(0x5A, _bcd(ident.pan)), _t(0x5F24, _bcd(ident.expiry + "31"))])}
    if ident.holder_id is not None:
        recs[(1, 2)] = _t(0x70, [_t(0x9F61, ident.holder_id.encode()), _t(0x9F62, b"\x00")])
    extra = _t(0x57, track2)
    app = App(CREDIT_AID, "UnionPay Credit", 1, QPBOC_PDOL, 2, recs, gpo_extra=extra)
    return CardProfile(
        name,
        "contactless (qPBOC) card answering PPSE only",
        ATR_CL,
        pse=False,
        ppse=True,
        t0=False,
        apps=(app,),
    )


def _no_pse(name: str, ident: CardIdentity) -> CardProfile:
    apps = (
        App(ECASH_AID, "PBOC ECASH", 2, b"", 1, _identity_records(ident)),
        App(CREDIT_AID, "PBOC CREDIT", 1, b"", 1, _identity_records(ident)),
    )
    return CardProfile(
        name,
        "card without PSE/PPSE: list selection, GPO format 1",
        ATR_T1,
        pse=False,
        ppse=False,
        t0=False,
        apps=apps,
    )


_BUILDERS = {
    "unionpay_debit": _contact,
    "t0": _contact,
    "contactless": _contactless,
    "no_pse": _no_pse,
}


def profile(name: str, ident: CardIdentity) -> CardProfile:
    """Build a named profile around an identity."""
    return _BUILDERS[name](name, ident)


PROFILES = ("unionpay_debit", "contactless", "t0", "no_pse")
