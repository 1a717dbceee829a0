"""Pure text normalisation shared by every reader (PDF, DOCX, plain text, OCR).

Four jobs, each a small pure function:

* `fold_chars` — compatibility folding that is *safe for Chinese*. Plain NFKC would turn
  the full-width punctuation that Chinese text is written with (，：；（）！？) into ASCII
  (, : ; ( ) ! ?), which makes PDF text differ from the Markdown collection and from what
  users type, and changes how the text reads. So we fold deliberately, block by block:

  - Kangxi radicals (U+2F00–U+2FDF) and the CJK radicals supplement (U+2E80–U+2EFF) →
    unified ideographs, using each character's own compatibility decomposition
    (`unicodedata.decomposition`), not a hand list. PDF fonts often map glyphs like `⽤`
    to the radical code point; readers see `用`, search must too.
  - CJK compatibility ideographs (U+F900–U+FAFF, U+2F800–U+2FA1F) → unified ideographs
    (their NFKC form).
  - Full-width ASCII letters and digits (Ａ–Ｚ, ａ–ｚ, ０–９) → ASCII, so `２０２１年` and
    `2021年` are the same token.
  - Every kind of space (ideographic U+3000, NBSP, en/em/thin spaces) → ` `; zero-width
    characters and soft hyphens are removed.
  - Latin ligatures (ﬁ) → letters.

  Everything else — all punctuation, full-width or not, `“”` `〔〕` `①` — is kept as is.

* `normalize_spacing` — removes the spaces PDF extraction leaves between CJK characters
  and between CJK and digits (`2020 年 5月` → `2020年5月`, `总  则` → `总则`), but keeps
  one space after a structural label (`第一条 为了…`, `第一章 总则`) because that is how
  the statute collection writes them and how structurers recognise a label.

* `join_wrapped` — rejoins lines that a layout engine wrapped inside a sentence. Chinese
  has no inter-word spaces, so the pieces are concatenated without a space
  (`常务委` + `员会` → `常务委员会`). A line that begins a new article, heading or
  numbered item, or follows a line that ended a sentence, stays a new line. Readers that
  know the layout (indentation, line width) pass a per-line hint that overrides the text
  rules.

* `to_simplified` — traditional Chinese characters → simplified, for what users type (the
  collection, its segmenter and the issue map's cues are simplified; a question written in
  繁體 found none of them).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from corpus.numerals import NUMERAL_CHARS, SECTION_NUMERAL_CHARS, SMALL_NUMERAL_CHARS
from corpus.records import Line

# --- character folding -------------------------------------------------------------

_RADICAL_BLOCKS = ((0x2E80, 0x2EFF), (0x2F00, 0x2FDF))
_COMPAT_IDEOGRAPH_BLOCKS = ((0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
_FULLWIDTH_ALNUM = ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_LIGATURES = (0xFB00, 0xFB06)


def _decomposed_target(char: str) -> str | None:
    """The character a compatibility decomposition points to, e.g. `⽤` → `用`."""
    decomposition = unicodedata.decomposition(char)
    if not decomposition:
        return None
    codes = [part for part in decomposition.split() if not part.startswith("<")]
    if not codes:
        return None
    return "".join(chr(int(code, 16)) for code in codes)


@lru_cache(maxsize=1)
def fold_table() -> dict[int, str]:
    """The `str.translate` table behind `fold_chars`, built once from Unicode data."""
    table: dict[int, str] = {}
    for start, end in _RADICAL_BLOCKS:
        for code in range(start, end + 1):
            target = _decomposed_target(chr(code))
            if target:
                table[code] = target
    for start, end in _COMPAT_IDEOGRAPH_BLOCKS + _FULLWIDTH_ALNUM + (_LIGATURES,):
        for code in range(start, end + 1):
            folded = unicodedata.normalize("NFKC", chr(code))
            if folded != chr(code):
                table[code] = folded
    for char in _SPACES:
        table[ord(char)] = " "
    for char in _INVISIBLE:
        table[ord(char)] = ""
    return table


def fold_chars(text: str) -> str:
    """Fold compatibility characters that Chinese PDFs produce, keeping CJK punctuation."""
    return text.translate(fold_table())


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc  # loaded at the first question, not at import

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese, character by character (OpenCC's `t2s`).

    Why `t2s` and not a regional phrase table (`tw2sp` turns 資訊 into 信息): phrase tables
    also rewrite simplified text (`tw2sp` made 程序 进程 and 建立 创建 in 202 of the 4,055
    shared and probe questions); `t2s` leaves all 4,055 unchanged and only maps characters
    that are traditional. Text without CJK characters is returned as is."""
    if not _HAN.search(text):
        return text
    return _t2s().convert(text)


# --- spacing -----------------------------------------------------------------------

_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2018-\u201f\u2026\u2014\u00b7"
    "\U00020000-\U0002fa1f"
)
_NUMERAL = NUMERAL_CHARS
#: A structural label at the start of a line: 第一条 / 第三章 / 第二编 / 第一分编 / 第四节 / 第一部分.
LABEL_RE = re.compile(
    rf"^(第[{_NUMERAL}]+(?:分编|编|章|节|条|部分)(?:之[{SMALL_NUMERAL_CHARS}]+)?)\s+(\S.*)$"
)
_SPACE_AFTER_CJK = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}0-9A-Za-z])")
_SPACE_BEFORE_CJK = re.compile(rf"(?<=[0-9A-Za-z%]) +(?=[{_CJK}])")
_MULTI_SPACE = re.compile(r" {2,}")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def _squeeze(text: str) -> str:
    text = _MULTI_SPACE.sub(" ", text.strip())
    text = _SPACE_AFTER_CJK.sub("", text)
    return _SPACE_BEFORE_CJK.sub("", text)


def normalize_spacing(text: str) -> str:
    """Drop spaces next to CJK characters; keep one space after a leading label.

    ASCII-to-ASCII spaces (`2,940.05 2,106.66`, `GB 2312`) are kept: they separate
    numbers and words. A label such as `第一条`/`第一章` that was followed by a space
    keeps exactly one, because the statute collection and the structurers use that form
    (whether it is a label or a wrapped cross-reference is the structurer's call: it has
    the article sequence); no space is ever inserted (`第六十二条规定` stays as is).
    """
    match = LABEL_RE.match(text.strip())
    if match:
        return f"{match.group(1)} {_squeeze(match.group(2))}"
    return _squeeze(text)


def normalize_text(text: str) -> str:
    """Character folding then spacing: the normal form of one line of text."""
    return normalize_spacing(fold_chars(text))


# --- rejoining wrapped lines -------------------------------------------------------

#: A line that starts a new unit of text: article/chapter labels, numbered items, bullets.
_STRUCTURAL_START = re.compile(
    rf"^(?:第[{_NUMERAL}]+(?:分编|编|章|节|部分)(?:\s|$)"
    rf"|第[{_NUMERAL}]+条(?:之[{SMALL_NUMERAL_CHARS}]+)?(?:\s|$)"
    rf"|[{SECTION_NUMERAL_CHARS}]+[、．.]"
    rf"|[（(][{SECTION_NUMERAL_CHARS}0-9]+[）)]"
    r"|[0-9]{1,3}[.．、](?![0-9])"
    r"|[①-⑳●■◆▲•]"
    r"|附\s*则$|目\s*录$|序\s*言$)"
)
#: A label strong enough to start a line even where the layout looks like a wrap.
_STRONG_START = re.compile(
    rf"^(?:第[{_NUMERAL}]+(?:分编|编|章|节|部分)(?:\s|$)|第[{_NUMERAL}]+条(?:之[{SMALL_NUMERAL_CHARS}]+)?\s)"
)
_SENTENCE_END = re.compile(r"[。！？；：!?;…]['\"’”」』）)]*$")
_HEADING = re.compile(rf"^第[{_NUMERAL}]+(?:分编|编|章|节|部分)(?:\s|$)")
_TOP_ITEM = re.compile(rf"^[{SECTION_NUMERAL_CHARS}]+、")


def starts_structure(text: str) -> bool:
    """True if the line begins an article, heading or numbered item."""
    return bool(_STRUCTURAL_START.match(text))


def ends_sentence(text: str) -> bool:
    """True if the line ends with sentence- or clause-final punctuation."""
    return bool(_SENTENCE_END.search(text))


def _is_heading(text: str) -> bool:
    """`第一章 总则` or a short `一、总体要求`. `（一）…` is not: in laws it is a wrapped item."""
    if _HEADING.match(text):
        return True
    return bool(_TOP_ITEM.match(text)) and len(text) <= 20 and "，" not in text and not ends_sentence(text)


def _unbalanced_paren(text: str) -> bool:
    return text.count("（") + text.count("(") > text.count("）") + text.count(")")


def starts_new_line(previous: str, current: str, hint: bool | None = None) -> bool:
    """Decide whether `current` begins a new paragraph after `previous`.

    `hint` is the layout's opinion (True = new paragraph, False = wrapped continuation,
    None = no opinion). Strong labels (`第一条 `, `第一章`) always win, because articles
    and headings must never be glued to the previous line; an open parenthesis always
    continues (the preamble `（2020年…通过）` is often wrapped).
    """
    if _STRONG_START.match(current):
        return True
    if _unbalanced_paren(previous) and not starts_structure(current):
        return False
    if hint is not None:
        return hint
    if ends_sentence(previous) or _is_heading(previous):
        return True
    return starts_structure(current)


def _glue(left: str, right: str) -> str:
    """Concatenate wrapped pieces: no space in CJK, one space between Latin words."""
    if left and right and left[-1].isascii() and left[-1].isalnum() and right[0].isascii() and right[0].isalnum():
        return f"{left} {right}"
    return left + right


def wrap_groups(texts: Sequence[str], hints: Sequence[bool | None] | None = None) -> list[list[int]]:
    """Group line indices into paragraphs: each group is one rejoined line."""
    groups: list[list[int]] = []
    joined = ""
    for index, text in enumerate(texts):
        hint = hints[index] if hints is not None else None
        if not groups or starts_new_line(joined, text, hint):
            groups.append([index])
            joined = text
        else:
            groups[-1].append(index)
            joined = _glue(joined, text)
    return groups


def join_texts(texts: Sequence[str]) -> str:
    """The text of one group from `wrap_groups`."""
    joined = ""
    for text in texts:
        joined = _glue(joined, text) if joined else text
    return joined


def join_wrapped(lines: Sequence[Line], hints: Sequence[bool | None] | None = None) -> list[Line]:
    """Rejoin lines wrapped inside a sentence; keep article/heading/paragraph starts.

    The joined line keeps the page (and OCR flag) of its first piece. `hints` (one per
    line, see `starts_new_line`) let a layout-aware reader override the text rules.
    """
    out: list[Line] = []
    for group in wrap_groups([line.text for line in lines], hints):
        first = lines[group[0]]
        text = join_texts([lines[i].text for i in group])
        ocr = any(lines[i].ocr for i in group)
        out.append(Line(text=text, page=first.page, ocr=ocr, heading_level=first.heading_level))
    return out
