"""The arrival bench's branch: a pulled cache, the PKI, the hub's config, devices and processes."""

from __future__ import annotations

import json
import random
import ssl
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from datetime import date
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from branch_hub.pki import (
    CertifiedKey,
    issue_client_cert,
    issue_server_cert,
    make_ca,
    write_private_key,
)
from branch_hub.security.devices import DeviceRegistry
from branch_hub.security.staff import StaffStore
from drivers.sim.magstripe import MagstripeSimulator, card_swipe, passbook_swipe
from drivers.sim.printer import PrinterSim
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file

BRANCH = "BJ-CY-0105"

# What starts an arrival (a swipe, a card insert) and what ends it afterwards (card removed).
Trigger = tuple[Callable[[], None], Callable[[], None] | None]


def say(quiet: bool, text: str) -> None:
    """Report progress on stderr unless quiet."""
    if not quiet:
        print(text, file=sys.stderr, flush=True)


class TimedPrinter(PrinterSim):
    """The simulated printer, noting when each complete ticket (up to its cut) has arrived."""

    def __init__(self, link: Path, out_dir: Path) -> None:
        super().__init__(link, out_dir, render=False)
        self.done_at: list[float] = []

    def _finish_ticket(self) -> None:
        self.done_at.append(time.monotonic())
        super()._finish_ticket()


def build_cache(work: Path, customers: int, quiet: bool) -> tuple[Path, list[dict[str, Any]]]:
    """Synthesise, publish and pull a cache; return its folder and a sample of customers."""
    export = work / "export.jsonl"
    started = time.perf_counter()
    write_export_file(
        SynthOptions(customers=customers, seed=11, region_code="110105", as_of=date.today()),
        export,
        progress=False,
    )
    hq, hub = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    publish(export, hub.public_key(), hq, work / "pub", BRANCH, progress=False)
    cache = work / "hub" / "cache"
    pull(
        (work / "pub").as_uri(),
        cache,
        hq_public=hq.public_key(),
        hub_key=hub,
        branch_id=BRANCH,
        progress=False,
    )
    # Where the hub's scheduled sync looks for its key (`[hq] sync_key_file`, data-relative;
    # the sample branch keeps the default).
    (cache / "hub_sync.key").write_bytes(
        hub.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    rng = random.Random(3)
    sample: list[dict[str, Any]] = []
    with export.open("rb") as fh:
        for i, line in enumerate(fh):
            if len(sample) < 2000:
                sample.append(json.loads(line))
            else:
                j = rng.randrange(i + 1)
                if j < 2000:
                    sample[j] = json.loads(line)
    export.unlink()
    say(quiet, f"cache: {customers} customers in {time.perf_counter() - started:.1f} s")
    return cache, sample


def write_pki(folder: Path, tablets: int) -> dict[str, tuple[Path, Path]]:
    """The branch CA, the hub's certificate (the hub finds them in data_dir/pki) and client certs."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = make_ca(BRANCH)
    ca.save(folder / "ca.crt", folder / "ca.key")
    issue_server_cert(ca, "hub-bench", ["localhost"], ["127.0.0.1"]).save(
        folder / "hub.crt", folder / "hub.key"
    )
    clients = {"K1": "kiosk", **{f"T{i:02d}": "tablet" for i in range(tablets)}}
    return {dev: _client(ca, folder, dev, kind) for dev, kind in clients.items()}


STAFF_PIN = "246810"


def enrol(data_dir: Path, certs: dict[str, tuple[Path, Path]]) -> None:
    """Enrol every device in the hub's registry and give each tablet its own staff member,
    as `branch-provision enroll` and `staff add` would (the hub refuses anything else)."""
    registry = DeviceRegistry(data_dir / "security" / "devices.db")
    staff = StaffStore(data_dir / "security" / "staff.db")
    try:
        for device, (cert_path, _key) in certs.items():
            kind = "kiosk" if device.startswith("K") else "tablet"
            registry.register(device, kind, x509.load_pem_x509_certificate(cert_path.read_bytes()))
            if kind == "tablet":
                staff.add(f"S-{device}", f"Bench {device}", "lobby_manager", STAFF_PIN)
    finally:
        registry.close()
        staff.close()


def _client(ca: CertifiedKey, folder: Path, device: str, kind: str) -> tuple[Path, Path]:
    cert, key = issue_client_cert(ca, device, kind)
    assert key is not None  # noqa: S101 (issue_client_cert makes a key when none is given)
    cert_path, key_path = folder / f"{device}.crt", folder / f"{device}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private_key(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return cert_path, key_path


def client_ssl(ca: Path, cert: tuple[Path, Path]) -> ssl.SSLContext:
    """A client TLS context trusting the branch CA and presenting a device certificate."""
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    return context


def write_config(
    path: Path, data_dir: Path, swipe_path: Path, printer_path: Path, *, card: bool = False
) -> None:
    """The sample branch with station K1 on the simulated stripe reader and printer."""
    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    start = raw.index("[[stations]]")
    text = raw[:start].replace('data_dir = "var"', f'data_dir = "{data_dir}"')
    # One kiosk issuing a ticket every few ms is a whole day compressed: its ticket budget
    # (10 at once, then 1 a second) is raised as for an accelerated demo, still checked.
    text = text.replace("[hub]\n", "[hub]\nwrite_limit_scale = 1000.0\n", 1)
    text += (
        f'[[stations]]\nid = "K1"\ncard_reader = "{"sim://card" if card else "none"}"\n'
        'id_reader = "none"\n'
        f'magstripe = "wedge://{swipe_path}"\nprinter = "serial://{printer_path}?baud=115200"\n'
    )
    tomllib.loads(text)  # fail here, not in the hub
    path.write_text(text, encoding="utf-8")


def start_pcscd(work: Path) -> Any:
    """A pcscd with the vpcd readers (adopted if one already runs)."""
    from drivers.sim.pcscd import PcscDaemon

    daemon = PcscDaemon(log_path=work / "pcscd.log")
    daemon.start()
    return daemon


def card_triggers(sample: list[dict[str, Any]], count: int, rng: random.Random) -> list[Trigger]:
    """Insert/remove actions of virtual UnionPay cards of cached customers."""
    from drivers.sim.card import CardIdentity, VirtualCard, VirtualCardDevice, profile

    out: list[Trigger] = []
    for customer in rng.sample([c for c in sample if c["cards"]], count):
        card = customer["cards"][0]
        ident = CardIdentity(pan=card["pan"], expiry=card["expiry"])
        device = VirtualCardDevice(VirtualCard(profile("unionpay_debit", ident)))
        out.append((device.insert, device.remove))
    return out


def start_process(
    args: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Start a server process and read its 'listening on URL' line."""
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None  # noqa: S101 (PIPE)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, line.split()[-1]


def swipe_triggers(
    swiper: MagstripeSimulator, sample: list[dict[str, Any]], count: int, rng: random.Random
) -> list[Trigger]:
    """Swipes of cached customers' cards and passbooks, and one in ten of an unknown card."""
    swipes: list[Trigger] = []
    for _ in range(count):
        customer = rng.choice(sample)
        roll = rng.random()
        if roll < 0.1:  # an unknown card: a walk-in
            pan = "6217" + "".join(rng.choice("0123456789") for _ in range(15))
            text = card_swipe(pan, "3012")
        elif roll < 0.2 and customer["passbooks"]:
            text = passbook_swipe(customer["passbooks"][0]["account"])
        else:
            card = customer["cards"][0]
            text = card_swipe(card["pan"], card["expiry"])
        swipes.append((partial(swiper.swipe, text), None))
    return swipes


async def login(
    http: aiohttp.ClientSession, url: str, context: ssl.SSLContext, device: str
) -> dict[str, str]:
    """Log the tablet's staff member in (the event stream needs a staff session)."""
    body = {"staff_id": f"S-{device}", "pin": STAFF_PIN}
    async with http.post(f"{url}/api/v1/login", json=body, ssl=context) as resp:
        answer = await resp.json()
        if resp.status != 200:
            raise RuntimeError(f"login on {device}: {resp.status} {answer}")
    return {"Authorization": f"Bearer {answer['token']}"}
