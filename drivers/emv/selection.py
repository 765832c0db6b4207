"""Application selection: PPSE, then PSE, then a list of known AIDs (EMV Book 1 §12)."""

from __future__ import annotations

from dataclasses import dataclass

from drivers import tlv
from drivers.emv.apdu import CardTransport, exchange, read_record, select
from drivers.errors import ProtocolError, StatusWordError

__all__ = [
    "DEFAULT_AIDS",
    "PPSE",
    "PSE",
    "Candidate",
    "KnownAid",
    "candidates",
    "order",
]

PSE = b"1PAY.SYS.DDF01"  # contact directory (EMV Book 1 §12.2.2)
PPSE = b"2PAY.SYS.DDF01"  # contactless directory (EMV Book B §3.3)
MAX_DIRECTORY_RECORDS = 32


@dataclass(frozen=True)
class KnownAid:
    """An application the terminal supports, matched as an AID prefix (partial selection)."""

    aid: bytes
    label: str

    @classmethod
    def of(cls, aid_hex: str, label: str) -> KnownAid:
        """Build from a hex AID."""
        return cls(bytes.fromhex(aid_hex), label)


# Order is the terminal's preference when the card gives no priority.
DEFAULT_AIDS: tuple[KnownAid, ...] = (
    KnownAid.of("A000000333010101", "UnionPay Debit"),
    KnownAid.of("A000000333010102", "UnionPay Credit"),
    KnownAid.of("A000000333010103", "UnionPay Quasi-credit"),
    KnownAid.of("A000000333010106", "UnionPay e-Cash"),
    KnownAid.of("A0000000031010", "Visa"),
    KnownAid.of("A0000000032010", "Visa Electron"),
    KnownAid.of("A0000000041010", "Mastercard"),
    KnownAid.of("A0000000043060", "Maestro"),
)


@dataclass(frozen=True)
class Candidate:
    """An application the card offers that the terminal supports."""

    aid: bytes
    label: str
    priority: int  # 1 highest .. 15 lowest; 16 when the card gave none
    rank: int  # position of the matching known AID
    source: str  # "ppse", "pse" or "list"


def _known(aid: bytes, known: tuple[KnownAid, ...]) -> tuple[int, KnownAid] | None:
    for rank, k in enumerate(known):
        if aid.startswith(k.aid):
            return rank, k
    return None


def _label(entry: tuple[tlv.Tlv, ...], fallback: str) -> str:
    for tag in (0x9F12, 0x50):  # preferred name, then label (Book 1 §12.4)
        t = tlv.find(entry, tag)
        if t is not None and t.value:
            return t.value.decode("latin-1").strip() or fallback
    return fallback


def _priority(entry: tuple[tlv.Tlv, ...]) -> int:
    t = tlv.find(entry, 0x87)
    if t is None or not t.value or not t.value[0] & 0x0F:
        return 16
    return t.value[0] & 0x0F


def _from_entries(
    entries: list[tlv.Tlv], known: tuple[KnownAid, ...], source: str
) -> list[Candidate]:
    out: list[Candidate] = []
    for entry in entries:
        aid_t = tlv.find(entry.children, 0x4F)
        if aid_t is None:
            continue
        match = _known(aid_t.value, known)
        if match is None:
            continue
        rank, k = match
        out.append(
            Candidate(
                aid_t.value,
                _label(entry.children, k.label),
                _priority(entry.children),
                rank,
                source,
            )
        )
    return out


def _directory_fci(card: CardTransport, name: bytes) -> tuple[tlv.Tlv, ...] | None:
    data, sw = exchange(card, select(name), f"SELECT {name.decode()}")
    if sw != 0x9000:
        return None  # 6A82 absent, 6A81 blocked: either way use the next method
    return tlv.parse(data)


def from_ppse(card: CardTransport, known: tuple[KnownAid, ...]) -> list[Candidate]:
    """Read the contactless directory: the FCI's BF0C holds the 61 entries directly."""
    fci = _directory_fci(card, PPSE)
    if fci is None:
        return []
    return _from_entries(tlv.find_all(fci, 0x61), known, "ppse")


def from_pse(card: CardTransport, known: tuple[KnownAid, ...]) -> list[Candidate]:
    """Read the contact directory: READ RECORD 1.. on the SFI in tag 88 until 6A83."""
    fci = _directory_fci(card, PSE)
    if fci is None:
        return []
    sfi_t = tlv.find(fci, 0x88)
    if sfi_t is None or len(sfi_t.value) != 1 or not 1 <= sfi_t.value[0] <= 30:
        raise ProtocolError("PSE FCI has no valid directory SFI (tag 88)")
    entries: list[tlv.Tlv] = []
    for record in range(1, MAX_DIRECTORY_RECORDS + 1):
        data, sw = exchange(card, read_record(record, sfi_t.value[0]), "READ RECORD (PSE)")
        if sw == 0x6A83:
            break
        if sw != 0x9000:
            raise StatusWordError(sw, "READ RECORD (PSE)")
        entries.extend(tlv.find_all(tlv.parse(data), 0x61))
    return _from_entries(entries, known, "pse")


def from_list(card: CardTransport, known: tuple[KnownAid, ...]) -> list[Candidate]:
    """Try SELECT on each known AID (list of AIDs method, Book 1 §12.3.3)."""
    out: list[Candidate] = []
    seen: set[bytes] = set()
    for rank, k in enumerate(known):
        data, sw = exchange(card, select(k.aid), "SELECT AID")
        if sw != 0x9000:
            continue
        fci = tlv.parse(data)
        name = tlv.find(fci, 0x84)
        aid = name.value if name is not None and name.value.startswith(k.aid) else k.aid
        if aid in seen:
            continue
        seen.add(aid)
        out.append(Candidate(aid, _label(fci, k.label), _priority(fci), rank, "list"))
    return out


def order(found: list[Candidate]) -> list[Candidate]:
    """Order candidates: the card's priority first, then the terminal's list order."""
    return sorted(found, key=lambda c: (c.priority, c.rank))


def candidates(card: CardTransport, known: tuple[KnownAid, ...] = DEFAULT_AIDS) -> list[Candidate]:
    """Find the supported applications: PPSE, else PSE, else the AID list; best first."""
    for method in (from_ppse, from_pse, from_list):
        found = method(card, known)
        if found:
            return order(found)
    return []
