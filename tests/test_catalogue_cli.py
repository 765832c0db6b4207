"""`branch-sync catalogue synth|publish|pull` end to end, with one-line errors and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.cli import main


def test_synth_publish_pull_and_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, www, store = tmp_path / "src", tmp_path / "www", tmp_path / "store"
    assert main(["catalogue", "synth", "--products", "30", "--articles", "60", "--out", str(src),
                 "--as-of", "2026-05-01"]) == 0  # fmt: skip
    assert main(["keygen", "--out", str(tmp_path / "k"), "--kind", "hq"]) == 0
    key, pub = tmp_path / "k" / "hq_signing.key", tmp_path / "k" / "hq_signing.pub"
    publish = [
        "catalogue",
        "publish",
        "--source",
        str(src),
        "--signing-key",
        str(key),
        "--out",
        str(www),
    ]
    assert main(publish) == 0
    pull = [
        "catalogue",
        "pull",
        "--from",
        www.as_uri(),
        "--store",
        str(store),
        "--hq-pubkey",
        str(pub),
    ]
    assert main(pull) == 0
    assert "catalogue at sequence 1" in capsys.readouterr().err
    next(p for p in (src / "files").iterdir() if p.suffix == ".png").write_bytes(b"not a picture")
    assert main(publish) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("branch-sync: error: image ")
