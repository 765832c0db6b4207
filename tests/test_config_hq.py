"""`branch-hub --check` and the hub's start refuse HQ URLs and key files the hub could not use."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from sync.keys import write_key_pair
from sync.static_server import make_test_pki
from tests.support.hubkit import provision


@pytest.fixture
def hq_files(tmp_path: Path) -> dict[str, Path]:
    """HQ's CA and signing key, and the hub's sync key where the hub reads it (var/cache)."""
    ca, _, _ = make_test_pki(tmp_path / "hq-pki")
    (tmp_path / "hq").mkdir()
    (tmp_path / "branch" / "var" / "cache").mkdir(parents=True)
    provision(tmp_path / "branch" / "var")
    write_key_pair("hq", tmp_path / "hq" / "signing.key", tmp_path / "hq" / "signing.pub")
    sync_key = tmp_path / "branch" / "var" / "cache" / "hub_sync.key"
    write_key_pair("hub", sync_key, tmp_path / "hub_sync.pub")
    return {
        "ca": ca,
        "signing_pub": tmp_path / "hq" / "signing.pub",
        "signing_key": tmp_path / "hq" / "signing.key",
        "sync_key": sync_key,
        "sync_pub": tmp_path / "hub_sync.pub",
        "root": tmp_path,
    }


def write_config(sample: Path, folder: Path, **hq: str) -> Path:
    """The sample branch with `[hq]` settings replaced; returns folder/hub.toml."""
    text = sample.read_text(encoding="utf-8")
    for key in ("bundle_url", "catalogue_url", "collector_url"):
        text = text.replace(f'{key} = ""\n', "")
    lines = "".join(f'{key} = "{value}"\n' for key, value in hq.items())
    text = text.replace("[hq]\n", f"[hq]\n{lines}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hub.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_hub(
    script: Callable[[str], str], config: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [script("branch-hub"), "--config", str(config), "--listen", "127.0.0.1:0", *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def one_line_error(done: subprocess.CompletedProcess[str], config: Path, key: str) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"branch-hub: error: {config}: {key}: "), lines[0]
    return lines[0]


def test_check_accepts_the_urls_and_keys_the_hub_can_use(
    script: Callable[[str], str], sample_config_path: Path, hq_files: dict[str, Path]
) -> None:
    config = write_config(
        sample_config_path,
        hq_files["root"] / "branch",
        collector_url="https://127.0.0.1:9/collector",
        bundle_url="https://127.0.0.1:9/branches/BJ-CY-0105/",
        catalogue_url="https://127.0.0.1:9/catalogue/",
        ca_file=str(hq_files["ca"]),
        signing_public_key=str(hq_files["signing_pub"]),
    )
    done = run_hub(script, config, "--check")
    assert done.returncode == 0, done.stderr
    assert "OK: branch BJ-CY-0105" in done.stdout


@pytest.mark.parametrize(
    ("settings", "key", "says"),
    [
        ({"collector_url": "http://127.0.0.1:9/c", "ca_file": "{ca}"}, "collector_url", "https://"),
        ({"collector_url": "https://127.0.0.1:9/c"}, "ca_file", "required"),
        ({"collector_url": "https:///c", "ca_file": "{ca}"}, "collector_url", "no host"),
        ({"collector_url": "ftp://hq/c", "ca_file": "{ca}"}, "collector_url", "https://"),
        (
            {"bundle_url": "http://127.0.0.1:9/b/", "signing_public_key": "{signing_pub}"},
            "bundle_url",
            "https://",
        ),
        (
            {"bundle_url": "https://127.0.0.1:9/b/", "signing_public_key": "{signing_pub}"},
            "ca_file",
            "required",
        ),
        (
            {"catalogue_url": "http://127.0.0.1:9/c/", "signing_public_key": "{signing_pub}"},
            "catalogue_url",
            "https://",
        ),
        (
            {"catalogue_url": "https://127.0.0.1:9/c/", "signing_public_key": "{signing_pub}"},
            "ca_file",
            "required",
        ),
        (
            {"catalogue_url": "https://127.0.0.1:9/c/", "ca_file": "{ca}"},
            "signing_public_key",
            "needed",
        ),
        ({"collector_url": "https://h/c", "ca_file": "{sync_pub}"}, "ca_file", "PEM certificate"),
        ({"collector_url": "https://h/c", "ca_file": "missing.pem"}, "ca_file", "cannot read"),
        ({"signing_public_key": "{sync_pub}"}, "signing_public_key", "Ed25519"),
        ({"signing_public_key": "{signing_key}"}, "signing_public_key", "public key"),
        ({"signing_public_key": "nowhere.pub"}, "signing_public_key", "nowhere.pub"),
        ({"sync_key_file": "cache/hub_sync.pub"}, "sync_key_file", "private key"),
    ],
)
def test_check_names_the_key_the_hub_could_not_use(
    script: Callable[[str], str],
    sample_config_path: Path,
    hq_files: dict[str, Path],
    settings: dict[str, str],
    key: str,
    says: str,
) -> None:
    names = {name: str(path) for name, path in hq_files.items()}
    (hq_files["sync_key"].parent / "hub_sync.pub").write_bytes(hq_files["sync_pub"].read_bytes())
    filled = {k: v.format(**names) for k, v in settings.items()}
    config = write_config(sample_config_path, hq_files["root"] / "branch", **filled)
    line = one_line_error(run_hub(script, config, "--check"), config, f"hq.{key}")
    assert says in line


def test_pulls_need_the_sync_key_where_the_hub_reads_it(
    script: Callable[[str], str], sample_config_path: Path, hq_files: dict[str, Path]
) -> None:
    settings = {
        "bundle_url": "https://127.0.0.1:9/b/",
        "ca_file": str(hq_files["ca"]),
        "signing_public_key": str(hq_files["signing_pub"]),
    }
    config = write_config(sample_config_path, hq_files["root"] / "branch", **settings)
    assert run_hub(script, config, "--check").returncode == 0
    hq_files["sync_key"].rename(hq_files["root"] / "elsewhere.key")
    line = one_line_error(run_hub(script, config, "--check"), config, "hq.sync_key_file")
    assert str(hq_files["sync_key"]) in line


def test_the_hub_stops_at_start_with_the_same_message_instead_of_crashing(
    script: Callable[[str], str], sample_config_path: Path, hq_files: dict[str, Path]
) -> None:
    config = write_config(
        sample_config_path, hq_files["root"] / "branch", collector_url="http://127.0.0.1:9/c"
    )
    checked = one_line_error(run_hub(script, config, "--check"), config, "hq.collector_url")
    started = run_hub(script, config)
    assert one_line_error(started, config, "hq.collector_url") == checked
    assert started.stdout == ""  # it never listened
