"""What the simulated branch writes before the hub starts: its PKI, devices, staff and hub.toml.

The branch (`BJ-CY-0105`), its services, counters and tiers are fixed; the demo's staff all use
one PIN. Service times and the aging cap are real minutes at the hub, so they are scaled by the
simulation's speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from branch_hub.outbox import load_or_create_signing_key
from branch_hub.pki import issue_client_cert, issue_server_cert, make_ca, write_private_key
from branch_hub.security.devices import DeviceRegistry
from branch_hub.security.staff import StaffStore

__all__ = [
    "BRANCH",
    "COUNTERS",
    "PIN",
    "READING_S",
    "RELATIONSHIP_MANAGERS",
    "SERVICES",
    "HubToml",
    "enrol",
]

BRANCH = "BJ-CY-0105"
PIN = "246810"
READING_S = 15.0  # the kiosk's reading screen (kiosk.flow.Timeouts.reading), real seconds
# The synthetic export names relationship managers RM0001-RM0059 (sync/synth.py); the first five
# work at this branch, so their customers' arrivals alert them and the picker offers them first.
RELATIONSHIP_MANAGERS = (
    ("RM0001", "王芳"),
    ("RM0002", "李娜"),
    ("RM0003", "张伟"),
    ("RM0004", "刘洋"),
    ("RM0005", "陈静"),
)
SERVICES = [
    ("cash", "现金业务", "Cash deposit & withdrawal", "A", 2.5),
    ("account", "开户及账户服务", "Accounts & cards", "B", 6.0),
    ("wealth", "理财咨询", "Wealth advice", "C", 12.0),
    ("loan", "个人贷款", "Personal loans", "D", 8.0),
]
COUNTERS = [
    ("C1", 1, ["cash", "account"]),
    ("C2", 2, ["cash", "account"]),
    ("C3", 3, ["cash"]),
    ("C4", 4, ["cash"]),
    ("C5", 5, ["cash", "account"]),
    ("C6", 6, ["account", "loan"]),
    ("V1", 8, ["wealth", "account", "loan"]),
    ("V2", 9, ["wealth", "loan"]),
]
TIERS = [
    ("mass", "大众客户", "Mass", 0, False),
    ("basic", "基础客户", "Basic", 50000, False),
    ("wealth", "财富客户", "Wealth", 500000, True),
    ("private", "私人银行客户", "Private Banking", 6000000, True),
]


def _security(data: Path) -> Path:
    folder = data / "security"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def enrol(data: Path, root: Path, stations: int, tablets: int) -> None:
    """Make the branch CA, the hub's certificate, every device's certificate, staff, keys."""
    pki = data / "pki"
    pki.mkdir(parents=True, exist_ok=True)
    ca = make_ca(BRANCH)
    ca.save(pki / "ca.crt", pki / "ca.key")
    issue_server_cert(ca, "hub", ["localhost"], ["127.0.0.1"]).save(
        pki / "hub.crt", pki / "hub.key"
    )
    devices = DeviceRegistry(_security(data) / "devices.db")
    dev_dir = root / "devices"
    dev_dir.mkdir(exist_ok=True)
    wanted = [(f"K{i + 1}", "kiosk") for i in range(stations)]
    wanted += [(c[0], "counter") for c in COUNTERS]
    wanted += [(f"T{i + 1:02d}", "tablet") for i in range(tablets)]
    wanted.append(("D1", "display"))  # the lobby display (the demo relays it to a browser)
    for device_id, kind in wanted:
        cert, key = issue_client_cert(ca, device_id, kind)
        if key is None:
            raise RuntimeError("the CA issued a certificate without a key")
        (dev_dir / f"{device_id}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_private_key(
            dev_dir / f"{device_id}.key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        devices.register(device_id, kind, cert)
    devices.close()
    staff = StaffStore(_security(data) / "staff.db")
    for counter, _, _ in COUNTERS:
        role = "wealth_manager" if counter.startswith("V") else "teller"
        staff.add(f"S-{counter}", f"Staff {counter}", role, PIN)
    for i in range(tablets):
        staff.add(f"S-T{i + 1:02d}", f"Lobby {i + 1}", "lobby_manager", PIN)
    for staff_id, name in RELATIONSHIP_MANAGERS:
        staff.add(staff_id, name, "wealth_manager", PIN)
    staff.close()
    load_or_create_signing_key(data / "outcome_signing.key")


@dataclass(frozen=True)
class HubToml:
    """The simulated branch's hub.toml, scaled to the simulation's speed."""

    speed: float
    bundle_url: str
    collector_port: int
    tls_ca: Path
    hq_signing_pub: Path
    pull_interval_s: float
    catalogue_url: str = ""

    def text(self, stations: list[tuple[str, str, str, str, str]]) -> str:
        """The TOML; `stations` are (id, card reader, ID reader, stripe reader, printer) URLs."""
        lines = self._branch_and_hq() + self._services_and_counters() + self._tiers_and_queue()
        for sid, card, id_reader, magstripe, printer in stations:
            lines += [
                "[[stations]]",
                f'id = "{sid}"',
                f'card_reader = "{card}"',
                f'id_reader = "{id_reader}"',
                f'magstripe = "{magstripe}"',
                f'printer = "{printer}"',
            ]
        return "\n".join(lines) + "\n"

    def _branch_and_hq(self) -> list[str]:
        return [
            "version = 1",
            "[branch]",
            f'id = "{BRANCH}"',
            'name_zh = "示例银行北京朝阳支行"',
            'name_en = "Example Bank Beijing Chaoyang Sub-branch"',
            'region_code = "110105"',
            'timezone = "Asia/Shanghai"',
            "[hub]",
            'listen = "127.0.0.1:0"',
            'data_dir = "var"',
            # Not below the kiosk's own wait: a restart takes real seconds at any speed, and a
            # session (or an unfinished read) must outlast it as 60 s does in a branch.
            f"kiosk_session_timeout_s = {max(READING_S, 90 / self.speed):.3f}",
            # A simulated minute passes in a real second: the devices write that much faster.
            f"write_limit_scale = {max(1.0, self.speed):.3f}",
            "[hq]",
            f'bundle_url = "{self.bundle_url}"',
            f'catalogue_url = "{self.catalogue_url}"',
            f'collector_url = "https://127.0.0.1:{self.collector_port}"',
            f'ca_file = "{self.tls_ca}"',
            f'signing_public_key = "{self.hq_signing_pub}"',
            f"pull_interval_s = {self.pull_interval_s}",
        ]

    def _services_and_counters(self) -> list[str]:
        lines: list[str] = []
        for code, zh, en, prefix, minutes in SERVICES:
            lines += [
                "[[services]]",
                f'code = "{code}"',
                f'name_zh = "{zh}"',
                f'name_en = "{en}"',
                f'prefix = "{prefix}"',
                f"typical_service_min = {minutes / self.speed:.5f}",
            ]
        for cid, number, services in COUNTERS:
            lines += [
                "[[counters]]",
                f'id = "{cid}"',
                f'name_zh = "{number}号窗口"',
                f'name_en = "Counter {number}"',
                f"number = {number}",
                "services = [" + ", ".join(f'"{x}"' for x in services) + "]",
            ]
        return lines

    def _tiers_and_queue(self) -> list[str]:
        lines: list[str] = []
        for code, zh, en, aum, prio in TIERS:
            lines += [
                "[[tiers]]",
                f'code = "{code}"',
                f'name_zh = "{zh}"',
                f'name_en = "{en}"',
                f"min_aum_cny = {aum}",
                f"priority = {'true' if prio else 'false'}",
            ]
        return [
            *lines,
            "[queue]",
            'policy = "weighted"',
            "priority_weight = 2",
            "ordinary_weight = 1",
            f"aging_cap_min = {15 / self.speed:.5f}",
            f"no_show_grace_s = {max(1.0, 120 / self.speed):.3f}",
        ]
