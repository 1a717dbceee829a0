"""Plain-text reader (with optional `---` front matter) and the policy-document structurer.

Policy documents (规划, 方案, 意见) are not divided into articles but into numbered headings
`一、` / `（一）` / `1．` / `（1）`. `structure_policy` turns such lines into citable
`section` units whose `path` names the enclosing headings, keeps 专栏 boxes together,
renders tab-separated tables as `cell | cell` rows, and keeps text before the first
heading as a `preamble`. Plain text that contains articles (`第一条` …) is handed to the
statute structurer `corpus.structure.structure_law` instead, so a law pasted into a .txt
file is cited by article like every other law.

Front matter: the shipped policy files start with a YAML-style block of simple
`key: value` lines (title, doc_number, issuer, date, doc_type, region, source, note).
The values never nest or span lines, so a ten-line parser is used instead of adding a
YAML dependency.

doc_type: a front-matter value is mapped onto the closed vocabulary `DOC_TYPES`
(synonyms such as 方案 / 意见 → 规范性文件). Without one, the title and the preamble
decide (`corpus.classify`): titles containing 规划 or 纲要 (十四五…规划) are 规划; other
non-statute texts (方案, 意见, 通知, 办法 …) are 规范性文件; texts with articles get a
binding type only on evidence of who enacted them (国务院令, 令第N号, an adoption line, a
document number), else 效力待确认.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from corpus.normalize import normalize_text
from corpus.numerals import NUMERAL_CHARS, SECTION_NUMERAL_CHARS, chinese_to_int
from corpus.classify import congress_region, infer_doc_type as classify_title
from corpus.records import DOC_TYPES, Document, IngestError, Line, Unit, make_doc_id, make_unit_id
from corpus.structure import structure_law

FRONT_MATTER_DELIMITER = "---"

#: Front-matter doc_type spellings seen in the wild → closed vocabulary.
DOC_TYPE_SYNONYMS = {
    "规划纲要": "规划",
    "纲要": "规划",
    "发展规划": "规划",
    "方案": "规范性文件",
    "实施方案": "规范性文件",
    "意见": "规范性文件",
    "实施意见": "规范性文件",
    "通知": "规范性文件",
    "政策": "规范性文件",
    "政策文件": "规范性文件",
    "行政规范性文件": "规范性文件",
    "地方法规": "地方性法规",
    "地方性法规规章": "地方性法规",
    "部门规章规定": "部门规章",
    "规章": "部门规章",
    "论文": "学术文献",
    "学术论文": "学术文献",
}

#: An article line `第一条` / `第 12 条` — if a text has several, it is a statute.
ARTICLE_LINE = re.compile(rf"^\s*第\s*[{NUMERAL_CHARS}]+\s*条")
MIN_ARTICLES_FOR_STATUTE = 2

# Policy heading levels, outermost first. The number must be followed by its separator
# (、 ． . or a closing bracket), so body lines such as `2025年…` or `1个中心——` never match;
# `(?!\d)` keeps decimals like `2.5亿` out.
_CN_NUM = SECTION_NUMERAL_CHARS + "零〇两"
HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^(?P<num>[{_CN_NUM}]+)\s*、\s*(?P<rest>.*)$")),
    (2, re.compile(rf"^[（(]\s*(?P<num>[{_CN_NUM}]+)\s*[）)]\s*(?P<rest>.*)$")),
    (3, re.compile(r"^(?P<num>\d{1,3})\s*[．.、](?!\d)\s*(?P<rest>.*)$")),
    (4, re.compile(r"^[（(]\s*(?P<num>\d{1,3})\s*[）)]\s*(?P<rest>.*)$")),
)
#: Label format per level, used for `Unit.number` (the label without its separator).
LABEL_FORMATS = {1: "{}", 2: "（{}）", 3: "{}", 4: "（{}）"}

BOX_START = re.compile(r"^专栏\s*(?P<num>\d{1,3})(?!\d)")
ANNEX_START = re.compile(r"^附\s*件\s*(?P<num>\d*)\s*[:：]?\s*(?P<rest>.*)$")
#: Distribution lines after the body: `抄送：…`, `山东省人民政府办公厅2023年1月30日印发`.
CLOSING_LINE = re.compile(r"^(抄送|抄报)[:：]|^\S{2,30}?\d{4}年\d{1,2}月\d{1,2}日\s*印发$")
TABLE_CAPTION = re.compile(r"^(附)?表\s*\d*")
MAX_PATH_LABEL = 50
MAX_CAPTION_LEN = 40
MAX_ANNEX_LINE = 40


# --------------------------------------------------------------------------- reading


def read_text(path: Path) -> Document:
    """Read a UTF-8 (or GB18030) text file into a Document, structured by articles or headings."""
    path = Path(path)
    raw = decode_text_file(path)
    front, body = split_front_matter(raw.splitlines())
    doc_id = make_doc_id(str(path))
    lines = [Line(text=normalize_keeping_tabs(t)) for t in body]
    warnings: list[str] = []

    title = front.get("title", "")
    if not title:
        first = next((i for i, ln in enumerate(lines) if ln.text.strip()), None)
        if first is None:
            raise IngestError(str(path), "text file has no content")
        title = lines[first].text.strip().lstrip("#").strip()  # `# 标题` in a .txt is a title, not Markdown
        lines = lines[first + 1 :]  # the title line is metadata, not a unit
    if not any(ln.text.strip() for ln in lines):
        raise IngestError(str(path), "text file has a title but no body text")

    statute = has_articles(lines)
    if statute:
        units = structure_law([ln for ln in lines if ln.text.strip()], doc_id)
    else:
        units = structure_policy(lines, doc_id)

    evidence = " ".join([front.get("doc_number", ""), front.get("issuer", ""), preamble_text(lines)])
    doc_type, type_warning = resolve_doc_type(front.get("doc_type", ""), title, statute, evidence)
    if type_warning:
        warnings.append(type_warning)
    version_date = parse_date(front.get("date", ""))
    if front.get("date") and not version_date:
        warnings.append(f"front-matter date {front['date']!r} is not a recognisable date")
    note = front.get("note", "")
    if note.upper().startswith("INCOMPLETE"):
        warnings.append(f"source note: {note}")
    extra = {k: front[k] for k in ("doc_number", "source", "note") if front.get(k)}
    return Document(
        doc_id=doc_id,
        title=normalize_text(title),
        doc_type=doc_type,
        source_path=str(path),
        source_format="text",
        units=units,
        issuer=front.get("issuer", ""),
        version_date=version_date,
        region=front.get("region", "") or (congress_region(title, evidence) if doc_type == "地方性法规" else ""),
        warnings=warnings,
        extra=extra,
    )


def decode_text_file(path: Path) -> str:
    """File contents as text: UTF-8 (with or without BOM), else GB18030 (common for Chinese docs)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    if not data.strip():
        raise IngestError(str(path), "empty text file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError(str(path), "text is neither UTF-8 nor GB18030")


def normalize_keeping_tabs(text: str) -> str:
    """`normalize_text` per tab-separated cell: tabs are the only column marker a text table
    has, and the shared normaliser folds them into spaces."""
    if "\t" not in text.strip():
        return normalize_text(text)
    return "\t".join(normalize_text(cell) for cell in text.rstrip("\r\n").split("\t"))


def split_front_matter(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Split a leading `---` … `---` block of `key: value` lines from the body.

    Returns ({}, lines) when there is no well-formed block, so a text that merely starts
    with a horizontal rule is not eaten. Keys are lower-cased; surrounding quotes removed.
    """
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None or lines[first].strip() != FRONT_MATTER_DELIMITER:
        return {}, lines
    front: dict[str, str] = {}
    for j in range(first + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped == FRONT_MATTER_DELIMITER:
            return front, lines[j + 1 :]
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            return {}, lines  # not a key: value block after all
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        front[key.strip().lower()] = value
    return {}, lines  # unterminated block: treat everything as body


def has_articles(lines: list[Line]) -> bool:
    """A text is a statute when several lines start with `第X条`."""
    count = sum(1 for ln in lines if ARTICLE_LINE.match(ln.text))
    return count >= MIN_ARTICLES_FOR_STATUTE


#: How many leading lines may carry the enactment evidence (令 number, adoption line).
PREAMBLE_LINES = 8


def preamble_text(lines: list[Line]) -> str:
    """The text before the first article (at most PREAMBLE_LINES lines): where a statute
    states who enacted it (国务院令第N号, …人民代表大会常务委员会…通过, 〔2023〕N号)."""
    head: list[str] = []
    for line in lines:
        if ARTICLE_LINE.match(line.text) or len(head) >= PREAMBLE_LINES:
            break
        if line.text.strip():
            head.append(line.text.strip())
    return " ".join(head)


def resolve_doc_type(declared: str, title: str, statute: bool, preamble: str = "") -> tuple[str, str]:
    """(doc_type from the closed vocabulary, warning or "") for a declared type, the title
    and the preamble's evidence."""
    declared = declared.strip()
    if declared in DOC_TYPES:
        return declared, ""
    if declared in DOC_TYPE_SYNONYMS:
        return DOC_TYPE_SYNONYMS[declared], ""
    inferred = classify_title(title, has_articles=statute, preamble=preamble)
    if declared:
        return inferred, f"unknown doc_type {declared!r}; inferred {inferred} from the title"
    return inferred, ""


def infer_doc_type(title: str, statute: bool) -> str:
    """Best guess of the document type from the title (shared rules in corpus.classify)."""
    return classify_title(title, has_articles=statute)


def parse_date(value: str) -> str:
    """ISO `yyyy-mm-dd` from `2023-03-02`, `2023/3/2`, `2023.3.2` or `2023年3月2日`; "" if none."""
    m = re.search(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", value or "")
    if not m:
        return ""
    year, month, day = (int(g) for g in m.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}"


# --------------------------------------------------------------------------- structuring


@dataclass(frozen=True)
class Heading:
    """A recognised policy heading: level (1 = `一、`), value, printed label and title text."""

    level: int
    value: int
    label: str
    line: str

    @property
    def path_label(self) -> str:
        """Heading as shown in a path: the line up to its first full stop (drops inline body)."""
        head = re.split(r"[。；;]", self.line, maxsplit=1)[0].strip()
        return head[:MAX_PATH_LABEL]


def match_heading(text: str) -> Heading | None:
    """The heading a line would be if numbering allows it (sequence is checked by the caller)."""
    stripped = text.strip()
    for level, pattern in HEADING_PATTERNS:
        m = pattern.match(stripped)
        if not m:
            continue
        try:
            value = chinese_to_int(m.group("num"))
        except ValueError:
            return None
        label = LABEL_FORMATS[level].format(m.group("num"))
        return Heading(level=level, value=value, label=label, line=stripped)
    return None


@dataclass
class _Block:
    """A unit being collected: kind, label, path and its lines."""

    kind: str
    number: str = ""
    ordinal: int | None = None
    path: tuple[str, ...] = ()
    lines: list[Line] = field(default_factory=list)


class _Numbering:
    """Which heading numbers are plausible next: the successor at a level, or a restart at 1
    once a higher heading has opened a new parent (Fujian numbers 1–46 straight through
    its （一）…（七）, Jiangsu restarts 1． under every （一））."""

    def __init__(self) -> None:
        self.last: dict[int, int] = {}
        self.new_parent: dict[int, bool] = {}

    def accepts(self, heading: Heading) -> bool:
        last = self.last.get(heading.level, 0)
        if heading.value == last + 1:
            return True
        return heading.value == 1 and self.new_parent.get(heading.level, False)

    def accept(self, heading: Heading) -> None:
        self.last[heading.level] = heading.value
        self.new_parent[heading.level] = False
        for level in self.last.keys() | self.new_parent.keys() | {1, 2, 3, 4}:
            if level > heading.level:
                self.new_parent[level] = True


def structure_policy(lines: list[Line], doc_id: str) -> list[Unit]:
    """Units of a policy document: preamble, numbered sections, 专栏 boxes, tables, annexes.

    Blank lines matter only as the end of a 专栏 box. A section's text is its heading line
    plus the body up to the next heading; boxes and tables inside it become their own
    units, emitted right after the section so a section stays one readable whole.
    """
    units: list[Unit] = []
    numbering = _Numbering()
    stack: list[Heading] = []
    current = _Block(kind="preamble")
    attached: list[_Block] = []  # boxes / tables found inside `current`
    box: _Block | None = None
    table: list[Line] = []
    in_annex = False

    per_kind: dict[str, int] = {}

    def emit(block: _Block) -> None:
        text_lines = [ln for ln in block.lines if ln.text.strip()]
        if not text_lines:
            return
        index = per_kind.get(block.kind, 0)  # ids numbered per kind, as corpus.structure does
        per_kind[block.kind] = index + 1
        units.append(_make_unit(doc_id, index, block, text_lines))

    def close_table() -> None:
        nonlocal table
        if table:
            attached.append(_table_block(table, current, stack))
            table = []

    def close_current(new: _Block) -> None:
        nonlocal current, attached, box
        close_table()
        if box is not None:
            attached.append(box)
            box = None
        emit(current)
        for block in attached:
            emit(block)
        current, attached = new, []

    for line in lines:
        text = line.text.strip()
        if "\t" in line.text and not in_annex:
            if box is not None:
                attached.append(box)
                box = None
            table.append(line)
            continue
        close_table()
        if not text:
            if box is not None:  # a blank line ends a 专栏 box
                attached.append(box)
                box = None
            continue
        annex = ANNEX_START.match(text) if len(text) <= MAX_ANNEX_LINE else None
        if annex and not in_annex:
            in_annex = True
            number = "附件" + annex.group("num")
            close_current(_Block(kind="section", number=number, lines=[line]))
            continue
        if CLOSING_LINE.search(text):
            # 抄送 / 印发 lines: distribution data, not content of the last section
            if current.kind != "paragraph":
                close_current(_Block(kind="paragraph", number="", lines=[]))
            current.lines.append(line)
            continue
        heading = None if in_annex else match_heading(text)
        if heading is not None and numbering.accepts(heading):
            numbering.accept(heading)
            while stack and stack[-1].level >= heading.level:
                stack.pop()
            path = tuple(h.path_label for h in stack)
            stack.append(heading)
            close_current(
                _Block(kind="section", number=heading.label, ordinal=heading.value, path=path, lines=[line])
            )
            continue
        box_match = BOX_START.match(text) if not in_annex else None
        if box_match:
            if box is not None:
                attached.append(box)
            box = _Block(
                kind="section",
                number=f"专栏{box_match.group('num')}",
                ordinal=int(box_match.group("num")),
                path=tuple(h.path_label for h in stack),
                lines=[line],
            )
            continue
        if box is not None:
            box.lines.append(line)
        else:
            current.lines.append(line)
    close_current(_Block(kind="preamble"))
    return units


def _make_unit(doc_id: str, index: int, block: _Block, lines: list[Line]) -> Unit:
    pages = [ln.page for ln in lines if ln.page is not None]
    return Unit(
        unit_id=make_unit_id(doc_id, block.kind, index),
        doc_id=doc_id,
        kind=block.kind,
        text="\n".join(ln.text.strip() for ln in lines),
        number=block.number,
        ordinal=block.ordinal,
        path=block.path,
        page=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        ocr=any(ln.ocr for ln in lines),
    )


def _table_block(rows: list[Line], current: _Block, stack: list[Heading]) -> _Block:
    """A table unit from tab-separated lines; a short caption line just before it moves along."""
    caption: list[Line] = []
    body = [ln for ln in current.lines if ln.text.strip()]
    if body:
        last = body[-1].text.strip()
        if (
            len(last) <= MAX_CAPTION_LEN
            and not last.endswith(("。", "：", ":"))
            and (TABLE_CAPTION.match(last) or last.endswith("表"))
        ):
            caption = [body[-1]]
            current.lines.remove(body[-1])
    cells = [[c.strip() for c in ln.text.split("\t")] for ln in rows]
    rendered = fill_spanned_cells(cells)
    lines = caption + [
        Line(text=" | ".join(row), page=src.page, ocr=src.ocr) for row, src in zip(rendered, rows)
    ]
    return _Block(
        kind="table",
        number=caption[0].text.strip() if caption else "",
        path=tuple(h.path_label for h in stack),
        lines=lines,
    )


def fill_spanned_cells(rows: list[list[str]]) -> list[list[str]]:
    """Repeat the cells of a vertically merged (row-spanning) column into the rows it spans.

    Tab-separated copies of tables lose row spans: a row under a merged 类别 cell simply
    has fewer cells than the header. When the first cell looks like a running number
    (序号), the missing cells are the ones right after it; otherwise the leading ones.
    Each row is then self-contained, which matters because rows are retrieved alone.
    """
    if not rows:
        return rows
    width = max(len(r) for r in rows)
    out: list[list[str]] = []
    previous: list[str] | None = None
    for row in rows:
        row = [c for c in row]
        missing = width - len(row)
        if missing > 0 and previous is not None and len(previous) == width:
            if row and re.fullmatch(r"\d+", row[0]):
                row = [row[0]] + previous[1 : 1 + missing] + row[1:]
            else:
                row = previous[:missing] + row
        out.append(row)
        if len(row) == width:
            previous = row
    return out
