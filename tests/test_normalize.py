"""Tests for corpus.normalize: Chinese-safe folding, spacing and rejoining wrapped lines."""
from __future__ import annotations

import unicodedata

import pytest

from corpus.normalize import (
    fold_chars,
    to_simplified,
    fold_table,
    join_wrapped,
    normalize_spacing,
    normalize_text,
    starts_new_line,
    wrap_groups,
)
from corpus.records import Line


def test_kangxi_radicals_fold_to_unified_ideographs():
    assert fold_chars("⽤⼈⽂") == "用人文"
    assert fold_chars("⺟") == "母"  # CJK radicals supplement entry with a decomposition
    assert fold_chars("⺀") == "⺀"  # supplement entries without a decomposition stay


def test_every_kangxi_radical_maps_to_a_unified_ideograph():
    table = fold_table()
    for code in range(0x2F00, 0x2FD6):
        target = table[code]
        assert "CJK UNIFIED IDEOGRAPH" in unicodedata.name(target), hex(code)


def test_chinese_punctuation_is_kept():
    punctuation = "，。；：“”‘’（）！？、《》〔〕【】…—·－．"
    assert fold_chars(punctuation) == punctuation
    assert normalize_text("第一条　为了规范（试行）：“数据”；") == "第一条 为了规范（试行）：“数据”；"


def test_fullwidth_letters_digits_and_spaces_fold():
    assert fold_chars("２０２１年ＡＢＣｘ") == "2021年ABCx"
    assert fold_chars("总\u3000则\u00a0a\u200bb") == "总 则 ab"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2020 年 5月 28 日", "2020年5月28日"),
        ("第一章  总  则", "第一章 总则"),
        ("第一条　为了规范数据处理活动", "第一条 为了规范数据处理活动"),
        ("第六十二条规定的情形", "第六十二条规定的情形"),
        ("国发〔2025〕11 号", "国发〔2025〕11号"),
        ("2,940.05 2,106.66", "2,940.05 2,106.66"),
        ("到 2027 年，率先实现人工智能与 6 大重点领域", "到2027年，率先实现人工智能与6大重点领域"),
        ("  GB 2312 编码  ", "GB 2312编码"),
    ],
)
def test_normalize_spacing(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_is_idempotent():
    for text in ["2020 年 5月", "第一章  总  则", "（ 一 ）  数据", "第 2 页"]:
        once = normalize_text(text)
        assert normalize_text(once) == once
        assert normalize_spacing(once) == once


def test_join_wrapped_glues_cjk_without_space():
    lines = [Line("第十三届全国人民代表大会常务委", 1), Line("员会第二十九次会议通过", 1)]
    assert [line.text for line in join_wrapped(lines)] == ["第十三届全国人民代表大会常务委员会第二十九次会议通过"]


def test_join_wrapped_keeps_structure_starts():
    lines = [
        Line("第一章 总则", 1),
        Line("第一条 为了规范数据处理活动，保障", 1),
        Line("数据安全，制定本法。", 1),
        Line("在中华人民共和国境外开展数据处理活动。", 2),
        Line("（一）以向境内自然人提供产品", 2),
        Line("或者服务为目的；", 2),
        Line("第二条 本法所称数据。", 2),
    ]
    joined = join_wrapped(lines)
    assert [line.text for line in joined] == [
        "第一章 总则",
        "第一条 为了规范数据处理活动，保障数据安全，制定本法。",
        "在中华人民共和国境外开展数据处理活动。",
        "（一）以向境内自然人提供产品或者服务为目的；",
        "第二条 本法所称数据。",
    ]
    assert [line.page for line in joined] == [1, 1, 2, 2, 2]


def test_cross_reference_at_line_start_stays_joined():
    lines = [Line("违反本法", 1), Line("第六十二条规定的，依法处罚。", 1)]
    assert [line.text for line in join_wrapped(lines)] == ["违反本法第六十二条规定的，依法处罚。"]


def test_layout_hints_override_text_rules_but_not_labels():
    texts = ["处罚。", "违反本法规定的", "第二条 本法"]
    # the layout says line 2 continues line 1 even after 。; the label always starts a line
    assert wrap_groups(texts, [True, False, False]) == [[0, 1], [2]]
    assert wrap_groups(texts, [True, True, None]) == [[0], [1], [2]]


def test_open_parenthesis_continues():
    assert not starts_new_line("（2026年3月12日第十四届全国人民代表大会第", "四次会议通过）", hint=True)


def test_latin_words_get_a_space_when_joined():
    lines = [Line("the personal", 1), Line("information", 1)]
    assert join_wrapped(lines)[0].text == "the personal information"


def test_traditional_characters_become_simplified_and_simplified_text_stays():
    assert to_simplified("外包公司洩露了政務App裡的個人資料，誰來承擔責任？") == "外包公司泄露了政务App里的个人资料，谁来承担责任？"
    # simplified text, including words a regional phrase table would rewrite (程序, 建立), is untouched
    for text in ("违反民主议定程序的承包合同是否有效？", "与用人单位建立劳动关系", "乾隆年间的著作权", "Who is liable? 123"):
        assert to_simplified(text) == text
