"""The apps' catalogues: tablet and kiosk text (Python and kv) is English in the code with its
Chinese in the catalogue, `--check` catches a kv string the catalogue lacks, and kept text follows
the language switch."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from branch_common.i18n import Catalogue
from branch_hub import catalogues

ROOT = Path(__file__).resolve().parents[1]


def test_the_tablet_and_kiosk_catalogues_are_checked_and_in_step() -> None:
    domains = {c.domain for c in catalogues.CATALOGUES}
    assert {"hub", "tablet", "kiosk"} <= domains
    for catalogue in catalogues.CATALOGUES:
        assert catalogues.check(catalogue) == [], catalogue.domain


def test_kv_strings_are_extracted() -> None:
    found = {str(m.id) for m in catalogues.extracted(catalogues.TABLET) if m.id}
    assert {"Log in", "Staff login", "Customers in the branch ({count})"} <= found


def test_check_fails_on_a_kv_string_missing_from_the_catalogue(tmp_path: Path) -> None:
    copy = tmp_path / "tablet"
    shutil.copytree(ROOT / "tablet" / "kv", copy / "kv")
    shutil.copytree(ROOT / "tablet" / "locale", copy / "locale")
    for source in (ROOT / "tablet").glob("*.py"):
        shutil.copy(source, copy / source.name)
    assert catalogues.check(Catalogue("tablet", copy)) == []
    (copy / "kv" / "new.kv").write_text(
        '#:import tr tablet.kvtr.tr\n<New@Label>:\n    text: tr._("A text nobody translated")\n',
        "utf-8",
    )
    faults = catalogues.check(Catalogue("tablet", copy))
    assert faults == ["tablet/zh_CN: not in the catalogue: 'A text nobody translated'"]


def test_kept_text_follows_the_language_switch() -> None:
    from tablet import words
    from tablet.i18n import N_, again, either, language, said, use_language

    assert language() == "zh_CN"
    done = said(N_("Outcome recorded"))
    alert = either("Printer out of paper", "打印机缺纸")
    vip = said(N_("VIP arrived: {who}  {number}"), who=said(N_("VIP")), number="A001")
    assert (done, alert, vip) == ("已记录结果", "打印机缺纸", "贵宾到店：贵宾  A001")
    assert words.shown_date("2026-03-01") == "2026年3月1日"
    assert words.shown_amount(Decimal("1234.5")) == "¥1,234.50"
    use_language("en")
    try:
        assert (again(done), again(alert)) == ("Outcome recorded", "Printer out of paper")
        assert again(vip) == "VIP arrived: VIP  A001"
        assert words.role_title("teller") == "Teller"
        assert words.shown_date("2026-03-01") == "Mar 1, 2026"
        assert words.shown_amount(Decimal("1234.5")) == "CN¥1,234.50"
    finally:
        use_language("zh_CN")
    assert again(done) == "已记录结果"


@pytest.mark.parametrize(
    ("key", "zh", "en"),
    [
        (
            "insert",
            "请插入或刷银行卡、存折，或放置身份证",
            "Insert or swipe your bank card or passbook, or place your ID card",
        ),
        ("cancel", "返回", "Back"),
        ("lang", "English", "中文"),
    ],
)
def test_the_kiosk_says_what_it_said_before_the_catalogue(key: str, zh: str, en: str) -> None:
    from kiosk.screens import text

    assert (text(key, "zh"), text(key, "en")) == (zh, en)
