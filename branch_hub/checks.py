"""What `branch-hub --check` and the hub's start verify beyond the file itself: HQ's URLs and
files, the provisioned keys, and that enrolled kiosks are stations the config names."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from cryptography import x509

from branch_hub.config import BranchConfig, ConfigError, StationRole, check_hq, resolve_data_dir
from branch_hub.identity import HubPki, check_identity
from branch_hub.pki import ca_fingerprint
from branch_hub.security.hub import security_folder

__all__ = ["checked_summary", "enrolled_kiosks", "startup_problems"]


def startup_problems(config: BranchConfig, config_path: str | Path) -> list[str]:
    """One line per problem that would stop the hub or leave a device refused."""
    problems = []
    try:
        check_hq(config, config_path)
    except ConfigError as exc:
        problems.append(str(exc))
    problems += check_identity(config, config_path)
    problems += _kiosks_without_station(config, config_path)
    return problems


def checked_summary(config: BranchConfig, config_path: str | Path) -> str:
    """The lines `--check` prints when all is well (the keys are known to load)."""
    pki = HubPki.of(config, config_path)
    ca = x509.load_pem_x509_certificate(pki.ca_crt.read_bytes())
    lines = [
        f"{config_path}: OK: branch {config.branch.id} ({config.branch.name_zh}), "
        f"{len(config.services)} services, {len(config.counters)} counters, "
        f"{_stations(config)}",
        f"  CA fingerprint: {ca_fingerprint(ca)}",
    ]
    if not config.hub.ca_fingerprint:
        lines.append("  note: hub.ca_fingerprint is not set, so the CA is not compared with init's")
    if not pki.ca_key.exists():
        lines.append(
            f"  note: {pki.ca_key} is absent: enrolment and device renewal are refused until "
            "it is back"
        )
    return "\n".join(lines)


def _stations(config: BranchConfig) -> str:
    """How many kiosk stations, and staff desks if any."""
    desks = sum(s.role is StationRole.DESK for s in config.stations)
    kiosks = f"{len(config.stations) - desks} kiosk stations"
    return f"{kiosks}, {desks} desks" if desks else kiosks


def enrolled_kiosks(data_dir: Path) -> list[str]:
    """Ids of the kiosks enrolled and not revoked (read only; none before the first enrolment)."""
    db = security_folder(data_dir) / "devices.db"
    if not db.exists():
        return []
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT device_id FROM devices WHERE kind = 'kiosk' AND revoked_at IS NULL"
        ).fetchall()
    return sorted(str(row[0]) for row in rows)


def _kiosks_without_station(config: BranchConfig, config_path: str | Path) -> list[str]:
    stations = {s.id for s in config.stations if s.role is StationRole.KIOSK}
    try:
        kiosks = enrolled_kiosks(resolve_data_dir(config, config_path))
    except sqlite3.Error as exc:
        return [f"{config_path}: stations: cannot read the device registry: {exc}"]
    desks = {s.id for s in config.stations if s.role is StationRole.DESK}
    return [
        f"{config_path}: stations: kiosk {kiosk} is enrolled but "
        + (f"{kiosk} is a desk" if kiosk in desks else "no [[stations]] entry has that id")
        + ", so the hub refuses it; add the station or 'branch-provision revoke' the kiosk"
        for kiosk in kiosks
        if kiosk not in stations
    ]
