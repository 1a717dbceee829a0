"""Chinese numerals ↔ integers, and canonical article labels (`第一千二百六十条之一`).

Statutes number their articles in Chinese numerals (`第一千二百六十条`), PDFs exported
from other tools sometimes in Arabic digits (`第 1 条`), and gold annotations always in
the canonical Chinese form. Everything that compares or displays article numbers goes
through these pure functions so that `第1260条`, `第 一千二百六十 条` and
`第一千二百六十条` all mean the same article.

Scope: integers 0 … 99 999 (articles, chapters and items never exceed a few thousand),
`两` as a synonym of `二`, `〇`/`零` as zero, full-width Arabic digits, and the `之一`,
`之二` … suffix used for articles inserted by amendment (刑法 第二百五十三条之一).
"""
from __future__ import annotations

import re

_DIGITS = {
    "零": 0, "〇": 0, "○": 0,
    "一": 1, "壹": 1,
    "二": 2, "两": 2, "贰": 2,
    "三": 3, "叁": 3,
    "四": 4, "肆": 4,
    "五": 5, "伍": 5,
    "六": 6, "陆": 6,
    "七": 7, "柒": 7,
    "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_MYRIAD = {"万": 10000}

#: Characters that may form a number in an article / chapter label (Chinese or Arabic,
#: half- or full-width). The one class for labels, used inside regexes (`[...]`) wherever
#: a label is recognised: `corpus.structure`, the PDF and text readers, the segmenter,
#: the lookup, the issue map, the refs.
NUMERAL_CHARS = "零〇○一二两三四五六七八九十百千万0-9０-９"
#: Small numbers (1–99) as written in item markers `（一）`, the `之一` suffix of inserted
#: articles, ordinals (`第二次`, `第十三届`) and the month and day of a date.
SMALL_NUMERAL_CHARS = "一二三四五六七八九十"
#: Numbers of the top-level sections of a text (`一、` … `一百、`).
SECTION_NUMERAL_CHARS = "一二三四五六七八九十百"
#: Chinese digits written one by one, as in years (`二〇二一`).
DIGIT_CHARS = "〇零一二三四五六七八九"

#: Largest value written in Chinese numerals by `int_to_chinese` (the module's scope).
MAX_NUMERAL = 99999

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CN_DIGIT_CHARS = "零一二三四五六七八九"
_SUFFIX_RE = re.compile(r"^之([" + NUMERAL_CHARS + r"]+)$")
_LABEL_RE = re.compile(
    r"^[第笫]\s*(?P<num>[" + NUMERAL_CHARS + r"]+)\s*条\s*(?:之\s*(?P<suffix>[" + NUMERAL_CHARS + r"]+))?$"
)


def chinese_to_int(text: str) -> int:
    """Value of a Chinese or Arabic numeral: `一千二百六十` → 1260, `十` → 10, `1260` → 1260.

    Handles the elided leading one (`十五` = 15), `零` placeholders (`一百零五` = 105)
    and digit strings written with Chinese zero (`二〇二一` = 2021, as in dates).
    Raises ValueError for an empty string or a character that is not a numeral, so a
    bad label surfaces instead of silently becoming 0.
    """
    s = text.strip().translate(_FULLWIDTH_DIGITS)
    if not s:
        raise ValueError("empty numeral")
    if s.isascii() and s.isdigit():
        return int(s)
    if all(ch in _DIGITS for ch in s) and len(s) > 1:
        # positional digit string without units: 二〇二一
        return int("".join(str(_DIGITS[ch]) for ch in s))
    total = 0  # completed myriads
    section = 0  # value below 万
    digit = None  # pending digit awaiting its unit
    for ch in s:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        elif ch in _MYRIAD:
            section += digit or 0
            total += (section or 1) * _MYRIAD[ch]
            section, digit = 0, None
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + section + (digit or 0)


def int_to_chinese(n: int) -> str:
    """Canonical Chinese numeral as used in statutes: 10 → 十, 105 → 一百零五, 1260 → 一千二百六十.

    Statutes write 十/十五 without a leading 一 but 一百一十 with it, and one 零 for any run
    of missing places (一千零五). Raises ValueError outside 0 … 99 999.
    """
    if not 0 <= n <= MAX_NUMERAL:
        raise ValueError(f"numeral out of range: {n}")
    if n == 0:
        return "零"
    places = [(10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")]
    out: list[str] = []
    pending_zero = False
    for value, unit in places:
        d = (n // value) % 10
        if d == 0:
            if out:
                pending_zero = True
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_CN_DIGIT_CHARS[d] + unit)
    text = "".join(out)
    if 10 <= n < 20:
        text = text[1:]  # 一十五 → 十五
    return text


def label_numeral(n: int) -> str:
    """The numeral of a label: Chinese within scope, Arabic digits beyond (123456789).

    A question may name a number no statute reaches (第九九九九九九九九九条); it must still
    become a label, so a lookup can answer "no such article" like for any missing one
    instead of failing on the numeral.
    """
    return int_to_chinese(n) if n <= MAX_NUMERAL else str(n)


def parse_suffix(text: str) -> int:
    """`之一` → 1, `之十二` → 12, `` → 0 (no suffix). Raises ValueError for anything else."""
    s = text.strip()
    if not s:
        return 0
    m = _SUFFIX_RE.match(s)
    if not m:
        raise ValueError(f"not an article suffix: {text!r}")
    return chinese_to_int(m.group(1))


def article_label(number: int, suffix: int = 0) -> str:
    """Canonical label `第X条` / `第X条之Y` — the form gold annotations and citations use."""
    if number < 1:
        raise ValueError(f"article number must be positive: {number}")
    label = f"第{label_numeral(number)}条"
    if suffix:
        label += f"之{label_numeral(suffix)}"
    return label


def parse_article_label(text: str) -> tuple[int, int]:
    """`第二百五十三条之一` → (253, 1); `第 1 条` → (1, 0). Raises ValueError if not a label.

    Lets callers canonicalise labels from any source (queries, gold files, PDFs) with
    `article_label(*parse_article_label(x))`.
    """
    m = _LABEL_RE.match(text.strip())
    if not m:
        raise ValueError(f"not an article label: {text!r}")
    number = chinese_to_int(m.group("num"))
    suffix = chinese_to_int(m.group("suffix")) if m.group("suffix") else 0
    return number, suffix


def canonical_article_label(text: str) -> str:
    """Any accepted spelling of an article label → its canonical form (`第1条` → `第一条`)."""
    return article_label(*parse_article_label(text))
