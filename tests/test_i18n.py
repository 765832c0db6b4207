"""Message catalogues: the hub's refusals read their Chinese from `hub.po` and say exactly what
they said before; the catalogues are in step with the code; zh_CN dates and amounts via CLDR."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from branch_common.i18n import EN, ZH_CN, Catalogue, translator
from branch_hub import catalogues
from branch_hub.api import bodies, errors
from branch_hub.client import i18n as client_i18n
from branch_hub.messages import HUB, zh
from branch_hub.vocabulary import REQUEST_ID_MAX_CHARS

SNAPSHOT = Path(__file__).parent / "data" / "refusals_zh.json"


def _table_now() -> list[dict[str, object]]:
    return [
        {
            "error": f"{kind.__module__}.{kind.__qualname__}",
            "status": row.status,
            "code": row.code,
            "message": row.message_en,
            "message_zh": row.message_zh,
        }
        for kind, row in errors.TABLE
    ]


def test_every_refusal_says_what_it_said_before_the_catalogue() -> None:
    before = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert _table_now() == before["table"]
    now = {code: errors.ApiError(400, code, "x").message_zh for code in errors._EN_BY_CODE}
    now["<unknown>"] = errors.ApiError(400, "no_such_code_anywhere", "x").message_zh
    assert now == before["api_errors"]


def test_every_refusal_code_has_its_chinese_in_the_catalogue() -> None:
    english = [row.message_en for _, row in errors.TABLE]
    english += [*errors._EN_BY_CODE.values(), errors._GENERIC]
    zh = translator(ZH_CN, HUB)
    for message in english:
        chinese = zh.gettext(message)
        assert chinese != message, f"untranslated: {message!r}"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), chinese


def test_refusals_with_a_value_say_what_they_said_before() -> None:
    with pytest.raises(errors.ApiError) as long:
        bodies.req_str({"note": "x" * 5}, "note", max_len=3)
    assert (long.value.message, long.value.message_zh) == (
        "'note' must be at most 3 characters",
        "“note”过长：最多 3 个字符。",
    )
    with pytest.raises(errors.ApiError) as bad:
        bodies.request_id({"request_id": "!"})
    assert (bad.value.message, bad.value.message_zh) == (
        f"'request_id' must be 1-{REQUEST_ID_MAX_CHARS} letters, digits, '-' or '_'",
        "请求编号格式无效。",
    )
    # As api/limits.py and routes_security.py fill them (their HTTP tests see the whole answer).
    wait = zh("This device sends too many {kind} requests; try again in {seconds} s.")
    assert wait.format(kind="note", seconds=3) == "此设备的请求过于频繁，请 3 秒后再试。"
    again = zh("{what}; try again in {seconds} seconds.")
    assert (
        again.format(what="Too many failed logins", seconds=2) == "失败次数过多，请在 2 秒后再试。"
    )


def test_the_committed_catalogues_are_in_step_with_the_code() -> None:
    for catalogue in catalogues.CATALOGUES:
        assert catalogues.check(catalogue) == []
    found = {m.id for m in catalogues.extracted(HUB) if m.id}
    assert {row.message_en for _, row in errors.TABLE} <= found
    assert set(errors._EN_BY_CODE.values()) <= found


@pytest.fixture
def toy(tmp_path: Path) -> Catalogue:
    package = tmp_path / "toy"
    package.mkdir()
    (package / "words.py").write_text('from x import N_\nHELLO = N_("Hello.")\n')
    (package / "skipped").mkdir()
    (package / "skipped" / "other.py").write_text('N_("Not this catalogue.")\n')
    return Catalogue("toy", package, exclude=("skipped",))


def test_update_then_check_finds_drift_untranslated_text_and_a_stale_mo(toy: Catalogue) -> None:
    catalogues.update(toy)
    problems = catalogues.check(toy)
    assert problems == ["toy/zh_CN: untranslated or fuzzy: 'Hello.'"]
    po = toy.po_path(ZH_CN)
    po.write_text(
        po.read_text(encoding="utf-8").replace(
            'msgid "Hello."\nmsgstr ""', 'msgid "Hello."\nmsgstr "你好。"'
        ),
        encoding="utf-8",
    )
    assert catalogues.check(toy) == ["toy/zh_CN: toy.mo is not the compiled toy.po: run ./run i18n"]
    catalogues.update(toy)  # keeps the translation, compiles the .mo
    assert catalogues.check(toy) == []
    assert translator(ZH_CN, toy).gettext("Hello.") == "你好。"
    compiled = toy.mo_path(ZH_CN).read_bytes()
    catalogues.update(toy)
    assert toy.mo_path(ZH_CN).read_bytes() == compiled  # deterministic: no churn on rerun
    (toy.package_dir / "more.py").write_text('N_("Goodbye.")\n')
    (toy.package_dir / "words.py").write_text("HELLO = 1\n")
    assert catalogues.check(toy) == [
        "toy/zh_CN: not in the catalogue: 'Goodbye.'",
        "toy/zh_CN: stale, the code no longer has: 'Hello.'",
    ]


def test_a_catalogue_is_read_from_its_compiled_file(tmp_path: Path) -> None:
    copy = tmp_path / "branch_hub"
    shutil.copytree(HUB.localedir, copy / "locale")
    moved = Catalogue("hub", copy)
    assert translator(ZH_CN, moved).gettext("No such counter.") == "没有这个窗口。"
    assert translator(EN, moved).gettext("No such counter.") == "No such counter."
    with pytest.raises(ValueError, match="fr_FR"):
        translator("fr_FR", moved)
    with pytest.raises(FileNotFoundError):
        translator(ZH_CN, Catalogue("hub", tmp_path / "nowhere"))


def test_dates_and_amounts_as_zh_cn_and_english_write_them() -> None:
    day = date(2026, 12, 2)
    assert client_i18n.format_date(day) == "2026年12月2日"
    assert client_i18n.format_date(day, EN) == "Dec 2, 2026"
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2026, 12, 2, 9, 5, tzinfo=UTC).astimezone(beijing)
    assert client_i18n.format_datetime(moment) == "2026年12月2日 17:05:00"
    assert client_i18n.format_datetime(moment, EN, "short") == "12/2/26, 5:05\u202fPM"
    with pytest.raises(ValueError, match="naive"):
        client_i18n.format_datetime(datetime(2026, 12, 2, 9, 5))
    assert client_i18n.format_amount(Decimal("1234.5")) == "¥1,234.50"
    assert client_i18n.format_amount(Decimal("1234.5"), EN) == "CN¥1,234.50"
    assert client_i18n.format_amount(-20) == "-¥20.00"
    with pytest.raises(TypeError, match="never float"):
        client_i18n.format_amount(1.5)  # type: ignore[arg-type]


def test_a_translation_may_not_use_a_field_the_english_lacks(toy: Catalogue) -> None:
    (toy.package_dir / "words.py").write_text('N_("Wait {seconds} s.")\n')
    catalogues.update(toy)
    po = toy.po_path(ZH_CN)
    text = po.read_text(encoding="utf-8")
    wrong = text.replace('s."\nmsgstr ""', 's."\nmsgstr "请等 {secs} 秒。"')
    po.write_text(wrong, encoding="utf-8")
    catalogues.update(toy)
    assert catalogues.check(toy) == ["toy/zh_CN: a field the English lacks in '请等 {secs} 秒。'"]
