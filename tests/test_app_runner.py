"""The running app's side of updates: background checks, confirmation, rollback to the base."""

from __future__ import annotations

from pathlib import Path

import pytest

from branch_hub.appstore.store import AppStore
from branch_hub.client.app_runner import (
    BASE_PATH_ENV,
    CHECK_EVERY_ENV,
    DEFAULT_CHECK_EVERY_S,
    UpdateWatcher,
    check_every_s,
    launch_installed,
)
from tests.test_appstore import HEALTH, _Hub, _updater, hub, keys, release

__all__ = ["hub", "keys"]  # the fixtures this module borrows


def test_the_first_version_failing_at_start_goes_back_to_the_base_install(
    tmp_path: Path, keys: tuple[Path, Path], hub: tuple[_Hub, AppStore]
) -> None:
    h, store = hub
    k1 = _updater(tmp_path, h, keys, "K1")
    store.publish(release(tmp_path, keys[0], "1.0"), "stable")
    assert k1.update(HEALTH).outcome == "installed"
    for _ in range(3):  # two starts that never confirm, the third rolls back
        k1.boot_check()
    assert k1.installed_version is None
    assert not k1.current_path.exists(), "the base install runs again"
    assert store.reports()[0]["reason"] == "crashed_after_start"
    assert k1.update(HEALTH).reason == "previously_rolled_back"
    k1.close()


def test_only_the_new_version_confirms_itself(
    tmp_path: Path, keys: tuple[Path, Path], hub: tuple[_Hub, AppStore]
) -> None:
    h, store = hub
    store.publish(release(tmp_path, keys[0], "1.0"), "stable")
    old = UpdateWatcher(_updater(tmp_path, h, keys, "K1"), HEALTH, None, every_s=3600)
    result = old.check_once()
    assert result is not None
    assert result.outcome == "installed"
    assert old.restart_due.is_set(), "the base install must make way for 1.0"
    old.screen_shown()
    assert old.updater._state()["unconfirmed"] == "1.0", "the base cannot vouch for 1.0"
    new = UpdateWatcher(_updater(tmp_path, h, keys, "K1"), HEALTH, "1.0", every_s=3600)
    new.screen_shown()
    assert "unconfirmed" in new.updater._state(), "shown, but the hub not reached yet"
    assert new.check_once() is not None
    assert not new.restart_due.is_set(), "1.0 runs: nothing to restart into"
    assert "unconfirmed" not in new.updater._state()
    old.stop()
    new.stop()


def test_two_updaters_of_one_folder_never_install_at_once(
    tmp_path: Path, keys: tuple[Path, Path], hub: tuple[_Hub, AppStore]
) -> None:
    h, store = hub
    store.publish(release(tmp_path, keys[0], "1.0"), "stable")
    running, timer = _updater(tmp_path, h, keys, "K1"), _updater(tmp_path, h, keys, "K1")
    with running._only_one() as mine:
        assert mine
        res = timer.update(HEALTH)
        assert (res.outcome, res.reason) == ("skipped", "another_update_running")
    assert timer.update(HEALTH).outcome == "installed"
    running.close()
    timer.close()


def test_the_launcher_stays_put_when_launched_or_nothing_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[bool] = []
    launch_installed("kiosk.cli", tmp_path, lambda: made.append(True) or None)
    monkeypatch.setenv(BASE_PATH_ENV, "")
    (tmp_path / "state.json").write_text("{}")
    launch_installed("kiosk.cli", tmp_path, lambda: made.append(True) or None)
    assert made == [], "no start counted, no exec"


def test_the_check_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CHECK_EVERY_ENV, raising=False)
    assert check_every_s() == DEFAULT_CHECK_EVERY_S == 6 * 3600
    for value, expected in (("2.5", 2.5), ("0", DEFAULT_CHECK_EVERY_S), ("x", 6 * 3600.0)):
        monkeypatch.setenv(CHECK_EVERY_ENV, value)
        assert check_every_s() == expected
