"""Magnetic stripe: public track samples, separators, Chinese track 3, passbooks, readers on ptys."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import ProtocolError, SwipeError, TrackError
from drivers.events import DeviceEvent, EventKind
from drivers.magstripe import (
    MagstripeWatcher,
    PassbookRead,
    PassbookRule,
    SerialMsrReader,
    Swipe,
    WedgeReader,
    classify_swipe,
    parse_msr_response,
    parse_passbook,
    parse_swipe,
    parse_track,
)
from drivers.sim.magstripe import MagstripeSimulator, card_swipe, msr_frame, passbook_swipe

# M1: sualeh/magnetictrackparser src/test/resources/BankCardMagneticTrack.trackA.txt
M1_T1 = "%B5350290149345177^FATEHI/SUALEH^16042010000000000000000000000000000567001000?"
M1_T2 = ";5350290149345177=16042010000056700100?"
# M1: Track3Test.java (track 3 prefixed '+', no format code)
M1_T3 = "+6202408082356005=15046200000010000000000004976?"
# M4 (docs/protocols.md#chinese-track-2-samples): Chinese track 2 samples.
CN_T2_MAG = "6222021001098550814=49121202219991930"
CN_T2_CHIP = "6217993300000000015=49122205180600000"


def test_m1_track1_and_2() -> None:
    t1 = parse_track(M1_T1)
    assert (t1.track, t1.account, t1.name, t1.expiry, t1.service_code) == (
        1, "5350290149345177", "FATEHI SUALEH", "1604", "201",
    )  # fmt: skip
    t2 = parse_track(M1_T2)
    assert (t2.track, t2.account, t2.expiry, t2.service_code, t2.chip) == (
        2, "5350290149345177", "1604", "201", True,
    )  # fmt: skip
    swipe = parse_swipe(M1_T1 + M1_T2 + M1_T3)
    assert sorted(swipe.tracks) == [1, 2, 3]
    assert swipe.account == "5350290149345177"
    assert swipe.tracks[3].account == "6202408082356005"


@pytest.mark.parametrize("sep", ["=", ">", "'", "D"])
def test_chinese_track2_separators(sep: str) -> None:
    t = parse_track(";" + CN_T2_MAG.replace("=", sep) + "?")
    assert (t.account, t.expiry, t.service_code, t.chip) == (
        "6222021001098550814",
        "4912",
        "120",
        False,
    )
    assert parse_track(CN_T2_CHIP.replace("=", sep), 2).chip is True


def test_chinese_track3_format_99() -> None:
    # 99 + PAN + '=' + 40-digit block (country 156, currency 156, ..., expiry 4912, seq 1).
    block = (
        "156156"
        + "0"
        + "0000"
        + "0000"
        + "0000"
        + "00"
        + "3"
        + "000000"
        + "0"
        + "00"
        + "00"
        + "00"
        + "4912"
        + "1"
    )
    assert len(block) == 40
    t = parse_track(f";996222021001098550814={block}=000000000000=000000000000=?")
    assert (t.track, t.format_code, t.account, t.expiry) == (3, "99", "6222021001098550814", "4912")


@pytest.mark.parametrize(
    "bad", ["", "%B^^?", ";12=4912?", ";62220210010985508140000=49?", ";6222x=4912?", "%A123^X^1?"]
)
def test_bad_tracks(bad: str) -> None:
    with pytest.raises(TrackError):
        parse_track(bad)


def test_passbook_rules() -> None:
    # M5 layout: track 2 account=bvCode=bookNo, track 3 account=bvCode=dvv=bookNo=payType.
    text = passbook_swipe("62284800000000001", "0102", "00012345")
    got = classify_swipe(text)
    assert isinstance(got, PassbookRead)
    assert got.account == "62284800000000001"
    assert got.track == 2
    rule = PassbookRule(bank="rcb", track=3, separators=(">",), account_field=3, min_fields=5)
    got = parse_passbook(text.replace("=", ">"), rule)
    assert got.account == "00012345"
    assert got.bank == "rcb"
    with pytest.raises(TrackError):
        parse_passbook(text, PassbookRule(min_fields=9))


def test_card_swipe_classified_as_card() -> None:
    assert isinstance(classify_swipe(card_swipe("6222021001098550814", "4912", "120")), Swipe)


def test_msr_response_codec() -> None:
    frame = msr_frame({1: "%B6222021001098550814^LI/SI^4912120?", 2: ";" + CN_T2_MAG + "?"})
    resp = parse_msr_response(frame)
    assert resp.status == 0x30
    assert parse_swipe(resp.as_wedge_line()).account == "6222021001098550814"
    assert parse_msr_response(msr_frame({}, 0x31)).status == 0x31
    for bad in (b"\x1bs\x1b9x?\x1c\x1b0", b"junk", b"\x1bs\x1b1\x01?\x1c\x1b0"):
        with pytest.raises(ProtocolError):
            parse_msr_response(bad)


@given(
    st.from_regex(r"62[0-9]{14,17}", fullmatch=True),
    st.from_regex(r"[0-9]{2}(0[1-9]|1[0-2])", fullmatch=True),
    st.from_regex(r"[1-7][0-9]{2}", fullmatch=True),
)
def test_swipe_round_trip(pan: str, expiry: str, service: str) -> None:
    swipe = parse_swipe(card_swipe(pan, expiry, service, "WANG/WU"))
    for n in (1, 2):
        t = swipe.tracks[n]
        assert (t.account, t.expiry, t.service_code, t.chip) == (
            pan,
            expiry,
            service,
            service[0] in "26",
        )
    assert parse_msr_response(msr_frame({2: swipe.raw[2]})).tracks[2] == swipe.raw[2]


@given(st.text(max_size=120))
def test_any_text_only_raises_track_error(text: str) -> None:
    for fn in (parse_swipe, parse_track, classify_swipe, parse_passbook):
        with contextlib.suppress(TrackError):
            fn(text)  # type: ignore[operator]


class _Events:
    def __init__(self) -> None:
        self.q: queue.Queue[DeviceEvent] = queue.Queue()

    def __call__(self, ev: DeviceEvent) -> None:
        self.q.put(ev)

    def next(self, timeout: float = 5.0) -> DeviceEvent:
        return self.q.get(timeout=timeout)


def test_wedge_reader_unplug_replug() -> None:
    sim = MagstripeSimulator("wedge")
    events = _Events()
    watcher = MagstripeWatcher(lambda: WedgeReader(str(sim.path)), events, retry=0.05).start()
    try:
        time.sleep(0.2)
        sim.swipe(card_swipe("6222021001098550814", "4912", "220"))
        ev = events.next()
        assert ev.kind is EventKind.card_read
        assert ev.payload.pan == "6222021001098550814"
        sim.set_fault("bad_swipe")
        sim.swipe("x")
        assert events.next().kind is EventKind.read_failed
        sim.set_fault("none")
        sim.unplug()
        assert events.next().kind is EventKind.device_fault
        sim.replug()
        assert events.next().kind is EventKind.device_recovered
        time.sleep(0.1)
        sim.swipe(passbook_swipe("62284800000000001"))
        ev = events.next()
        assert ev.kind is EventKind.passbook_read
        assert isinstance(ev.payload, PassbookRead)
    finally:
        watcher.stop()
        sim.close()


def test_serial_msr_reader() -> None:
    sim = MagstripeSimulator("msr")
    reader = SerialMsrReader(str(sim.path))
    try:
        threading.Timer(0.1, sim.swipe, [card_swipe("6217993300000000015", "4912", "220")]).start()
        assert reader.read_swipe(3).tracks[2].chip is True
        sim.set_fault("bad_swipe")
        sim.swipe(card_swipe("6217993300000000015", "4912", "220"))
        with pytest.raises(SwipeError):
            reader.read_line(3)
        sim.set_fault("mute")
        assert reader.read_line(0.3) is None
    finally:
        reader.close()
        sim.close()


def test_cli_decode(capsys: pytest.CaptureFixture[str]) -> None:
    # In-process: the subprocess form of the CLI is covered by test_pcsc's read-card tests.
    from drivers.cli import main

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        code = main(["decode", *args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    done = run("track", ";" + CN_T2_CHIP + "?")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), f"no output (rc {done.returncode}): {done.stderr!r}"
    out = json.loads(done.stdout)
    assert (out["kind"], out["pan"], out["expiry"], out["chip"]) == (
        "bank_card_stripe",
        "6217993300000000015",
        "4912",
        True,
    )
    done = run("tlv", "6F 0A 84 08 A000000333010101")
    assert done.returncode == 0
    assert json.loads(done.stdout)[0]["children"][0]["value"] == "A000000333010101"
    for bad in (("tlv", "6F10"), ("tlv", "zz"), ("track", "hello")):
        done = run(*bad)
        assert done.returncode == 2
        assert done.stderr.startswith("drivers: error: ")
        assert done.stdout == ""
