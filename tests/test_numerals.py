"""Chinese numerals and article labels (corpus.numerals)."""
import pytest

from corpus.numerals import (
    DIGIT_CHARS,
    NUMERAL_CHARS,
    SECTION_NUMERAL_CHARS,
    SMALL_NUMERAL_CHARS,
    article_label,
    canonical_article_label,
    chinese_to_int,
    int_to_chinese,
    parse_article_label,
    parse_suffix,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一千二百六十", 1260),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("一百零五", 105),
        ("一百一十", 110),
        ("一百十", 110),  # informal, still readable
        ("一千零五", 1005),
        ("一千零一十", 1010),
        ("两百", 200),
        ("二百五十三", 253),
        ("零", 0),
        ("1260", 1260),
        ("１２", 12),  # full-width digits
        ("二〇二一", 2021),  # positional digits as in dates
    ],
)
def test_chinese_to_int(text, value):
    assert chinese_to_int(text) == value


@pytest.mark.parametrize("bad", ["", "第", "十x", "abc"])
def test_chinese_to_int_rejects_non_numerals(bad):
    with pytest.raises(ValueError):
        chinese_to_int(bad)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1, "一"), (10, "十"), (11, "十一"), (20, "二十"), (105, "一百零五"), (110, "一百一十"),
     (1005, "一千零五"), (1010, "一千零一十"), (1260, "一千二百六十"), (1000, "一千")],
)
def test_int_to_chinese_statute_style(value, text):
    assert int_to_chinese(value) == text


def test_round_trip_all_article_numbers():
    assert all(chinese_to_int(int_to_chinese(n)) == n for n in range(0, 5000))


def test_suffix_and_labels():
    assert parse_suffix("之一") == 1
    assert parse_suffix("之十二") == 12
    assert parse_suffix("") == 0
    with pytest.raises(ValueError):
        parse_suffix("之规定")
    assert article_label(1260) == "第一千二百六十条"
    assert article_label(20, 1) == "第二十条之一"
    assert article_label(253, 1) == "第二百五十三条之一"
    with pytest.raises(ValueError):
        article_label(0)


@pytest.mark.parametrize(
    ("label", "parsed", "canonical"),
    [
        ("第1条", (1, 0), "第一条"),
        ("第 1 条", (1, 0), "第一条"),
        ("第二十条之一", (20, 1), "第二十条之一"),
        ("笫五十四条", (54, 0), "第五十四条"),
        ("第1260条", (1260, 0), "第一千二百六十条"),
    ],
)
def test_parse_and_canonicalise_labels(label, parsed, canonical):
    assert parse_article_label(label) == parsed
    assert canonical_article_label(label) == canonical


def test_parse_article_label_rejects_other_text():
    with pytest.raises(ValueError):
        parse_article_label("第一章")


def test_labels_beyond_chinese_numerals_use_digits_and_round_trip():
    """A question may name 第九九九九九九九九九条: still a label, so lookups can say it is missing."""
    assert article_label(1_000_000) == "第1000000条"
    assert canonical_article_label("第九九九九九九九九九条") == "第999999999条"
    assert parse_article_label(article_label(123456, 2)) == (123456, 2)


def test_character_classes_hold_the_numbers_they_name():
    """The regex classes every reader uses: what they promise to cover, they cover, and
    `chinese_to_int` reads it back."""
    import re

    for n in range(1, 100):
        assert set(int_to_chinese(n)) <= set(SMALL_NUMERAL_CHARS) and chinese_to_int(int_to_chinese(n)) == n
    for n in range(1, 101):
        assert re.fullmatch(f"[{SECTION_NUMERAL_CHARS}]+", int_to_chinese(n))
    for n in (1, 10, 105, 1260, 20000):
        assert re.fullmatch(f"[{NUMERAL_CHARS}]+", int_to_chinese(n)) and re.fullmatch(f"[{NUMERAL_CHARS}]+", str(n))
    assert re.fullmatch(f"[{NUMERAL_CHARS}]+", "１２６０") and chinese_to_int("１２６０") == 1260
    assert re.fullmatch(f"[{DIGIT_CHARS}]{{4}}", "二〇二一") and chinese_to_int("二〇二一") == 2021
