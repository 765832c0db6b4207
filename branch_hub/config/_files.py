"""The `[hq]` URLs and files checked as the running hub will use them (`--check` and start)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from branch_hub.config._loading import BranchConfig, resolve_data_dir
from branch_hub.config._strict import ConfigError
from sync.errors import SyncError
from sync.keys import load_hub_private, load_signing_public

__all__ = ["HqFiles", "check_hq"]


@dataclass(frozen=True)
class HqFiles:
    """Where the hub reads HQ's CA, HQ's signing key and its own sync key."""

    ca_file: Path | None
    signing_public_key: Path | None
    sync_key: Path

    @classmethod
    def of(cls, config: BranchConfig, config_path: str | Path) -> HqFiles:
        """Resolve the paths: CA and HQ key next to the config file, the sync key in data."""
        base = Path(config_path).resolve().parent
        hq = config.hq
        return cls(
            ca_file=base / hq.ca_file if hq.ca_file else None,
            signing_public_key=base / hq.signing_public_key if hq.signing_public_key else None,
            sync_key=resolve_data_dir(config, config_path) / hq.sync_key_file,
        )


def check_hq(config: BranchConfig, config_path: str | Path) -> HqFiles:
    """Raise ConfigError (one line: file, key, problem) unless HQ's URLs and files are usable."""
    files = HqFiles.of(config, config_path)
    problem = _first_problem(config, files)
    if problem is not None:
        key, message = problem
        raise ConfigError(f"{config_path}: hq.{key}: {message}")
    return files


def _first_problem(config: BranchConfig, files: HqFiles) -> tuple[str, str] | None:
    hq = config.hq
    for key, url, schemes in (
        ("collector_url", hq.collector_url, {"https"}),
        ("bundle_url", hq.bundle_url, {"https", "file"}),
        ("catalogue_url", hq.catalogue_url, {"https", "file"}),
    ):
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in schemes:
            allowed = "https://" if schemes == {"https"} else "https:// (or file:// for tests)"
            return key, f"must be an {allowed} URL, got {url!r}"
        if parts.scheme == "https" and not parts.hostname:
            return key, f"names no host: {url!r}"
        if parts.scheme == "https" and not hq.ca_file:
            return (
                "ca_file",
                f"{key} is set, so HQ's CA certificate (PEM) is required: it is pinned",
            )
    if files.ca_file is not None and (message := _ca_problem(files.ca_file)):
        return "ca_file", message
    if files.signing_public_key is not None:
        try:
            load_signing_public(files.signing_public_key)
        except (SyncError, OSError, ValueError) as exc:
            return "signing_public_key", _one_line(exc)
    if hq.bundle_url and not files.sync_key.exists():
        return "sync_key_file", (
            f"{files.sync_key} does not exist (branch-provision init writes it; "
            "the path is relative to the data directory)"
        )
    if files.sync_key.exists():
        try:
            load_hub_private(files.sync_key)
        except (SyncError, OSError, ValueError) as exc:
            return "sync_key_file", _one_line(exc)
    return None


def _ca_problem(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        return f"{path} is not a PEM certificate"
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
