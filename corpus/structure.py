"""Law structure: cleaned lines → preamble + one `article` unit per 条, with heading paths.

Input is a list of `Line`s that already went through cleaning (Markdown reader or PDF
cleaner). Output units follow the data model in `corpus.records`:

* one `article` unit per 条, `number` canonicalised to the Chinese form
  (`第 1 条` → `第一条`, `第二十条之一` kept), `ordinal` its integer value, `text` the
  article body WITHOUT the label (款/项 lines joined with "\\n"), `path` the 编/分编/章/节
  headings above it, `page`/`page_end` the first/last page of its lines, `ocr` if any
  line was recognised from an image;
* one `preamble` unit for text before the first article (if any);
* `paragraph` units for stray text that follows a heading but precedes the next
  article (e.g. an 附件 after the last article) — so such text never pollutes the
  article above the heading.

Documents without any article (decisions numbered 一、二、, reports, cases) go through
`block_units` instead: numbered items and Markdown sections become `section` units,
remaining paragraphs `paragraph` units. `structure_law` falls back to it by itself.

Deciding what starts an article (the hard part; PDFs wrap lines anywhere)
-------------------------------------------------------------------------
A line starting with `第N条` is a *candidate*. References can also start a line
(`第二十七条规定的情形…` after a PDF wrap, quoted amendment text), so a candidate
becomes a new article only if:

1. the label is followed by whitespace (incl. full-width space) or nothing, OR — no
   separator — the number is exactly the expected next one, the rest does not read
   like the continuation of a reference (`规定`, `的`, `、`, `第`…) and the previous
   line ended a sentence (so a wrapped sentence is never cut);
2. the number is the expected next one (previous + 1, or `之X` of the previous), OR the
   jump is plausible: a heading came since the last article (new part/chapter, amendment
   sets restarting), or a small forward gap (≤ `MAX_FORWARD_GAP`, a source that lost an
   article) — backward jumps and large gaps without a heading are treated as text;
3. we are not inside quoted amendment text: when the open article announces new text
   (`修改为`/`增加`/`内容如下` … ending with `：`), following out-of-sequence labels and
   headings (`第七节 监察委员会`, `第一百二十三条 …` in the 2018 constitutional
   amendment) belong to that article until the expected next article appears.

Quoted text that starts with a quotation mark (`“第十条 …`) never matches at all.
Amendment text quoted WITHOUT marks whose number happens to be the expected next one
(`第五条 将第六条修改为：` / `第六条 …`) cannot be told apart and becomes an article.
Additionally, when one physical line holds several articles (`…。 第二条 …`, seen in
飞行基本规则), the line is split at a label that is the expected next article and is
preceded by sentence-final punctuation plus whitespace and followed by whitespace.

Headings
--------
Markdown `#` lines (`Line.heading_level`) are always headings; their rank comes from
the 编/分编/章/节 label, else from the rank such labels had at the same `#` depth. In
unmarked (PDF) text, a line `第N编/分编/章/节 <short title>` is a heading when it is
short and has no sentence punctuation; a bare label line (`第一章`) takes the next
short line as its title (`总　则`); a line that is only `附则`/`总则`/`序言` is a
top-level heading (民法典). A new heading drops every heading of the same or lower
rank from the path.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from corpus.numerals import (
    NUMERAL_CHARS,
    SECTION_NUMERAL_CHARS,
    SMALL_NUMERAL_CHARS,
    article_label,
    chinese_to_int,
    int_to_chinese,
)
from corpus.records import Line, Unit, make_unit_id

log = logging.getLogger(__name__)

_NUM = f"[{NUMERAL_CHARS}]+"
_SUFFIX_NUM = f"[{SMALL_NUMERAL_CHARS}]+"

#: Line-start article label: `第一千二百六十条`, `第 1 条`, `第二十条之一`, `笫五十四条` (a
#: common typo). Groups: num, suffix, rest. Matching is only the first step — see the
#: module docstring for the sequence rules that make a match an article.
ARTICLE_START_RE = re.compile(
    rf"^\s*[第笫]\s*(?P<num>{_NUM})\s*条(?:之(?P<suffix>{_SUFFIX_NUM}))?(?P<rest>.*)$", re.S
)

#: Heading label at line start: `第一编`, `第一分编`, `第三章`, `第二节`.
HEADING_RE = re.compile(rf"^\s*[第笫]\s*(?P<num>{_NUM})\s*(?P<kind>分编|编|章|节)(?P<rest>.*)$", re.S)

#: Label of an article that starts in the middle of a line, right after a sentence end.
_INLINE_ARTICLE_RE = re.compile(
    rf"(?<=[。；！？”])\s+[第笫](?P<num>{_NUM})条(?:之(?P<suffix>{_SUFFIX_NUM}))?(?=\s)"
)

#: A heading line that is only its label (`第一章`), its title printed on the next line.
_LABEL_ONLY_HEADING_RE = re.compile(rf"^\s*[第笫]\s*{_NUM}\s*(?:分编|编|章|节)\s*$")

#: Unnumbered top-level headings printed on a line of their own (民法典 `附则`, 宪法 `序言`).
_BARE_HEADING_RE = re.compile(r"^\s*(?:附\s*则|总\s*则|序\s*言)\s*$")

#: `一、` numbered item at line start (decisions, notices, 刑法修正案 items).
ITEM_RE = re.compile(rf"^\s*(?P<num>[{SECTION_NUMERAL_CHARS}]+)、")

#: Forward gap in article numbers accepted without a heading (sources that lost an
#: article: e.g. a local regulation jumping 第十五条 → 第十七条).
MAX_FORWARD_GAP = 10

_HEADING_RANK = {"编": 1, "分编": 2, "章": 3, "节": 4}
#: A bare `序言` heads the text before the first chapter and sits where chapters sit, so
#: `第一章` replaces it (a constitution's articles are not under 序言).
_PREAMBLE_HEADING_RANK = _HEADING_RANK["章"]
#: Longest heading a wrapped second line may complete (`第一节 …及其常务` + `委员会的组织和职权`).
MAX_WRAPPED_HEADING = 40
#: Rank for Markdown headings whose text is not 编/章/节 (`## 一、一般规定`, `## 序言`):
#: by `#` depth, level 2 sits where chapters sit.
_MARKDOWN_LEVEL_RANK = {1: 1, 2: 3, 3: 4, 4: 5, 5: 6, 6: 7}

#: What follows a label WITHOUT whitespace when the label is a reference, not an article.
_REFERENCE_CONTINUATIONS = (
    "规定", "的", "、", "，", ",", "；", "。", "：", ":", "第", "至", "到", "和", "或", "及", "与",
    "中", "所", "之", "项", "款", "条", "以", "后", "前", "修改", "增加", "删去", "删除", "作为",
    "改为", "相应", "有关", "关于", "》", "〉", "”", "’", "）", ")", "即", "等", "也", "同", "规",
    "并", "把", "对", "未", "已", "在", "为止", "起", "止",
)
#: Of those, the words an article's own first sentence may begin with (`第二条在中华人民共和国
#: 境内…`, `第五条对违反…`, `第三条未经…`): after a finished sentence, a label glued to one of
#: them that is the next article in sequence starts that article. Why: a PDF whose text layer
#: dropped the space after each label (`第二条在…`) lost every article after the first,
#: with no warning, when these counted as references.
_ARTICLE_OPENINGS = ("中", "以", "后", "前", "作为", "有关", "关于", "对", "未", "已", "在", "起")
_SENTENCE_END = tuple("。；：:！？!?”’」』）)】")
_AMENDING_RE = re.compile(r"修改为|改为|增加|增写|补充|内容如下|修订为|表述为")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_GAP_RE = re.compile(rf"(?<=[{_CJK}、，])\s+(?=[{_CJK}])")
_WS_RE = re.compile(r"\s+")


def is_article_start(text: str) -> bool:
    """True when `text` begins with an article label that reads like an article, not a reference.

    Context-free check (no sequence information): the label must be followed by
    whitespace, nothing, or body text that does not continue a reference
    (`第二十七条规定的…` → False, `第二十七条 …` → True, `第1条为了…` → True).
    `structure_law` applies stricter sequence rules on top of this.
    """
    m = ARTICLE_START_RE.match(text)
    if not m:
        return False
    rest = m.group("rest")
    return not rest or rest[0].isspace() or not _reads_like_reference(rest)


def _reads_like_reference(rest: str) -> bool:
    return rest.startswith(_REFERENCE_CONTINUATIONS)


def compact_heading(text: str) -> str:
    """Canonical heading text: `#` marks dropped, `第1章  总  则` → `第一章 总则`.

    Spaces between CJK characters are typographic padding (总  则) and go; the single
    space after a 编/章/节 label is kept so paths read naturally.
    """
    s = text.strip().lstrip("#").strip()
    m = HEADING_RE.match(s)
    if m:
        try:
            label = f"第{int_to_chinese(chinese_to_int(m.group('num')))}{m.group('kind')}"
        except ValueError:
            label = f"第{m.group('num')}{m.group('kind')}"
        rest = _compact_text(m.group("rest"))
        return f"{label} {rest}" if rest else label
    return _compact_text(s)


def _compact_text(text: str) -> str:
    return _WS_RE.sub(" ", _CJK_GAP_RE.sub("", text.strip()))


@dataclass
class _Heading:
    rank: int
    text: str
    number: int | None  # numeric value of 第N章 etc., None for other headings


def _classify_heading(
    line: Line, text: str, level_ranks: dict[int, int] | None = None
) -> _Heading | None:
    """A heading from a Markdown `#` line (always) or a bare `第N章 …` line (when safe).

    A Markdown heading that is not 编/章/节 (`## 附件一`, `## 一、管辖`) takes the rank
    that 编/章/节 headings of the same `#` depth had in this document (`level_ranks`,
    updated here), else a rank by depth — so 刑法's `## 附件一` replaces `## 第二编`.
    """
    if line.heading_level is not None:
        body = text.lstrip("#").strip()
        m = HEADING_RE.match(body)
        if m:
            rank = _HEADING_RANK[m.group("kind")]
            if level_ranks is not None:
                level_ranks.setdefault(line.heading_level, rank)
            return _Heading(rank, compact_heading(body), _safe_int(m.group("num")))
        rank = (level_ranks or {}).get(line.heading_level) or _MARKDOWN_LEVEL_RANK.get(line.heading_level, 7)
        return _Heading(rank, compact_heading(body), None)
    if _BARE_HEADING_RE.match(text):
        heading = compact_heading(text)
        return _Heading(_PREAMBLE_HEADING_RANK if heading == "序言" else 1, heading, None)
    m = HEADING_RE.match(text)
    if not m:
        return None
    rest = m.group("rest")
    if len(text) > 40 or re.search(r"[。；，,;：:“”（）()]", rest):
        return None
    if rest and not rest[0].isspace():
        # `第五章法律责任` is a heading; `第二章规定的…` (a wrapped reference) is not.
        if _reads_like_reference(rest) or len(rest) > 15:
            return None
    return _Heading(_HEADING_RANK[m.group("kind")], compact_heading(text), _safe_int(m.group("num")))


def _is_heading_title(text: str) -> bool:
    """A short line that can only be the title of the heading label above it (`总  则`)."""
    return (
        len(text) <= 20
        and not re.search(r"[。；，,;：:“”]", text)
        and ARTICLE_START_RE.match(text) is None
        and HEADING_RE.match(text) is None
    )


def _safe_int(numeral: str) -> int | None:
    try:
        return chinese_to_int(numeral)
    except ValueError:
        return None


@dataclass
class _Block:
    """A unit under construction: its lines, label and the path when it started."""

    kind: str
    path: tuple[str, ...]
    number: str = ""
    ordinal: int | None = None
    suffix: int = 0
    texts: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    def add(self, text: str, line: Line) -> None:
        if text:
            self.texts.append(text)
        self.lines.append(line)

    def to_unit(self, doc_id: str, index: int) -> Unit:
        pages = [ln.page for ln in self.lines if ln.page is not None]
        return Unit(
            unit_id=make_unit_id(doc_id, self.kind, index),
            doc_id=doc_id,
            kind=self.kind,
            text="\n".join(self.texts),
            number=self.number,
            ordinal=self.ordinal,
            path=self.path,
            page=pages[0] if pages else None,
            page_end=pages[-1] if pages else None,
            ocr=any(ln.ocr for ln in self.lines),
        )


class _UnitSink:
    """Collects finished blocks into units, numbering ids per kind; drops empty blocks."""

    def __init__(self, doc_id: str):
        self.doc_id = doc_id
        self.units: list[Unit] = []
        self._counts: dict[str, int] = {}

    def emit(self, block: _Block | None) -> None:
        if block is None or (not block.texts and block.kind != "article"):
            return
        index = self._counts.get(block.kind, 0)
        self._counts[block.kind] = index + 1
        self.units.append(block.to_unit(self.doc_id, index))


class _PathStack:
    """Heading path: a new heading replaces every heading of the same or lower rank."""

    def __init__(self) -> None:
        self._stack: list[_Heading] = []

    def push(self, heading: _Heading) -> None:
        self._stack = [h for h in self._stack if h.rank < heading.rank]
        if heading.text:
            self._stack.append(heading)

    def retitle_last(self, title: str, *, wrapped: bool = False) -> None:
        """Complete a bare label heading (`第一章`) with the title printed on the next line,
        or (`wrapped`) a heading title that ran onto the next line."""
        last = self._stack[-1]
        joined = f"{last.text}{title}" if wrapped else f"{last.text} {title}"
        self._stack[-1] = _Heading(last.rank, compact_heading(joined), last.number)

    @property
    def last_text(self) -> str:
        return self._stack[-1].text if self._stack else ""

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(h.text for h in self._stack)


def _is_expected(number: int, suffix: int, last: tuple[int, int] | None) -> bool:
    """Next in sequence: previous + 1, or a 之X suffix of the previous base number."""
    if last is None:
        return True
    last_number, last_suffix = last
    if suffix:
        return number == last_number and suffix > last_suffix
    return number == last_number + 1


@dataclass
class _LawParser:
    """`structure_law`'s state while it walks a law's lines, one line at a time (`feed`)."""

    sink: _UnitSink
    paths: _PathStack = field(default_factory=_PathStack)
    current: _Block | None = None  # open article / preamble / paragraph block
    last: tuple[int, int] | None = None  # (number, suffix) of the last article
    heading_since_last: bool = False
    quoting: bool = False  # inside quoted amendment text of the open article
    prev_ends_sentence: bool = True  # previous line closed a sentence (or was a heading / start)
    level_ranks: dict[int, int] = field(default_factory=dict)  # Markdown depth → rank seen for 编/章/节 there
    seen_article: bool = False
    label_only_heading: bool = False  # last line was a bare `第一章` whose title may follow
    titled_heading: bool = False  # last line was a `第一节 …` heading whose title may run on

    @property
    def doc_id(self) -> str:
        return self.sink.doc_id

    def feed(self, line: Line) -> None:
        """Take one line: a heading's title, a heading, an article start, or text."""
        text = line.text.strip()
        if not text and line.heading_level is None:
            return
        if self._completes_heading(text):
            return
        self.label_only_heading = self.titled_heading = False
        article_open = self.current is not None and self.current.kind == "article"
        opens_quote = article_open and _announces_quotation(self.current)
        heading = self._heading_of(line, text, opens_quote)
        if heading is not None:
            self._push_heading(heading, line, text)
            return
        self._body_line(line, text, in_quote=self.quoting or opens_quote)
        self.prev_ends_sentence = text.endswith(_SENTENCE_END)

    def finish(self) -> list[Unit]:
        self.sink.emit(self.current)
        return self.sink.units

    def _completes_heading(self, text: str) -> bool:
        """The title line of a bare `第一章`, or the wrapped rest of a heading's title."""
        if self.label_only_heading and _is_heading_title(text):
            self.paths.retitle_last(text)
            self.label_only_heading = False
            return True
        if self.titled_heading and _is_heading_title(text) and len(self.paths.last_text) + len(text) <= MAX_WRAPPED_HEADING:
            self.paths.retitle_last(text, wrapped=True)  # the heading's title wrapped onto this line
            self.titled_heading = False
            return True
        return False

    def _heading_of(self, line: Line, text: str, opens_quote: bool) -> _Heading | None:
        """The heading this line is, if any; inside quoted amendment text a heading-like
        line (`第七节 监察委员会`) is quoted wording instead and keeps the quote open."""
        if not (self.quoting or opens_quote) or line.heading_level is not None:
            return _classify_heading(line, text, self.level_ranks)
        if _classify_heading(line, text) is not None:
            self.quoting = True
        return None

    def _push_heading(self, heading: _Heading, line: Line, text: str) -> None:
        if self.current is not None and self.current.kind != "preamble":
            self.sink.emit(self.current)
            self.current = None
        self.paths.push(heading)
        self.heading_since_last = True
        self.quoting = False
        self.prev_ends_sentence = True
        self.label_only_heading = line.heading_level is None and bool(_LABEL_ONLY_HEADING_RE.match(text))
        self.titled_heading = line.heading_level is None and not self.label_only_heading and heading.number is not None

    def _body_line(self, line: Line, text: str, *, in_quote: bool) -> None:
        """A line that is no heading: a new article when its `第X条` label is judged one,
        else text of the open block."""
        m = ARTICLE_START_RE.match(text)
        if not m:
            self._add_text(text, line)
            return
        decision = _judge_candidate(m, self.last, self.prev_ends_sentence, self.heading_since_last, in_quote)
        if decision == "article":
            number = chinese_to_int(m.group("num"))
            suffix = chinese_to_int(m.group("suffix")) if m.group("suffix") else 0
            self._start_article(number, suffix, "", line)
            body = m.group("rest").strip()
            if body:
                self._add_text(body, line)  # the body may hold further articles (several per line)
            return
        if decision == "quoted":
            self.quoting = True
        elif self.last is not None:
            log.debug("%s: line-start label kept as text: %s", self.doc_id, text[:40])
        self._add_text(text, line)

    def _start_article(self, number: int, suffix: int, body: str, line: Line) -> None:
        self.sink.emit(self.current)
        self.current = _Block("article", self.paths.path, article_label(number, suffix), number, suffix)
        self.current.add(body, line)
        self.last = (number, suffix)
        self.heading_since_last = self.quoting = False
        self.seen_article = True

    def _add_text(self, text: str, line: Line) -> None:
        """Append text to the open block, splitting off inline next articles."""
        segments = [(None, text)] if self.quoting else _split_inline(text, self.last)
        for label, segment in segments:
            if label is not None:
                self._start_article(label[0], label[1], segment, line)
                continue
            if self.current is None:
                self.current = _Block("paragraph" if self.seen_article else "preamble", self.paths.path)
            self.current.add(segment, line)


def structure_law(lines: list[Line], doc_id: str) -> list[Unit]:
    """Split a law's cleaned lines into preamble + article units (see module docstring).

    Falls back to `block_units` when no line is an article, so every document gets
    sensible units. Never raises on odd input: unrecognised lines stay text of the
    unit they appear in.
    """
    parser = _LawParser(_UnitSink(doc_id))
    for line in lines:
        parser.feed(line)
    units = parser.finish()
    if not any(u.kind == "article" for u in units):
        return block_units(lines, doc_id)
    return units


def _announces_quotation(block: _Block) -> bool:
    """An article that introduces new wording (`…修改为：`, `…内容如下：`) at its end."""
    if not block.texts:
        return False
    last_text = block.texts[-1].rstrip()
    return last_text.endswith(("：", ":")) and bool(_AMENDING_RE.search("".join(block.texts)))


def _judge_candidate(
    m: re.Match[str],
    last: tuple[int, int] | None,
    prev_ends_sentence: bool,
    heading_since_last: bool,
    in_quote: bool,
) -> str:
    """'article', 'quoted' (amendment text) or 'text' for a line-start label."""
    try:
        number = chinese_to_int(m.group("num"))
        suffix = chinese_to_int(m.group("suffix")) if m.group("suffix") else 0
    except ValueError:
        return "text"
    if number < 1:
        return "text"
    rest = m.group("rest")
    separated = not rest or rest[0].isspace()
    expected = _is_expected(number, suffix, last)
    if not separated:
        if last is not None and not prev_ends_sentence:
            return "text"  # a wrapped sentence continues here
        if _reads_like_reference(rest) and not (expected and rest.startswith(_ARTICLE_OPENINGS)):
            return "text"
        if not expected and (heading_since_last or in_quote or last is None or suffix
                             or not last[0] < number <= last[0] + MAX_FORWARD_GAP):
            return "text"  # a glued label out of sequence: only a short gap forward, in plain text
    if expected:
        return "article"
    if in_quote:
        return "quoted"
    if last is None or heading_since_last:
        return "article"
    if not suffix and last[0] < number <= last[0] + MAX_FORWARD_GAP:
        return "article"
    return "text"


def _split_inline(text: str, last: tuple[int, int] | None) -> list[tuple[tuple[int, int] | None, str]]:
    """Split `…。 第二条 …` into segments at labels that are the expected next article."""
    segments: list[tuple[tuple[int, int] | None, str]] = []
    label: tuple[int, int] | None = None
    start = 0
    running = last
    if running is None:
        return [(None, text)]
    for m in _INLINE_ARTICLE_RE.finditer(text):
        number = _safe_int(m.group("num"))
        suffix = _safe_int(m.group("suffix")) if m.group("suffix") else 0
        if number is None or suffix is None or not _is_expected(number, suffix, running):
            continue
        segments.append((label, text[start : m.start()].strip()))
        label, start, running = (number, suffix), m.end(), (number, suffix)
    segments.append((label, text[start:].strip()))
    return segments


def block_units(lines: list[Line], doc_id: str) -> list[Unit]:
    """Units for text without articles: `section`s per heading / `一、` item, else `paragraph`s.

    Runs of `| a | b |` rows (Markdown tables) become one `table` unit (`a | b` rows).

    Markdown headings set the path and close the open section; text under a heading is
    one `section` (number = "", path = headings); a `一、` item opens a `section` numbered
    `一、` that collects its following lines; text with neither heading nor item above it
    becomes one `paragraph` unit per line.
    """
    sink = _UnitSink(doc_id)
    paths = _PathStack()
    current: _Block | None = None
    level_ranks: dict[int, int] = {}
    for line in lines:
        text = line.text.strip()
        if not text and line.heading_level is None:
            continue
        if line.heading_level is not None:
            sink.emit(current)
            current = None
            paths.push(_classify_heading(line, text, level_ranks) or _Heading(7, compact_heading(text), None))
            continue
        if text.startswith("|"):
            if current is None or current.kind != "table":
                sink.emit(current)
                current = _Block("table", paths.path)
            current.add(text.strip("| "), line)
            continue
        if current is not None and current.kind == "table":
            sink.emit(current)
            current = None
        item = ITEM_RE.match(text)
        if item:
            sink.emit(current)
            current = _Block("section", paths.path, item.group(0).strip())
        elif current is None:
            if not paths.path:
                sink.emit(_block_of("paragraph", (), text, line))
                continue
            current = _Block("section", paths.path)
        current.add(text, line)
    sink.emit(current)
    return sink.units


def _block_of(kind: str, path: tuple[str, ...], text: str, line: Line) -> _Block:
    block = _Block(kind, path)
    block.add(text, line)
    return block
