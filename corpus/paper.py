"""Reader for a scholarship paper given as raw PDF-extractor text plus a `.meta.json` sidecar.

The text (see ../shared/corpus/scholarship/) is exactly what a PDF extractor produced
from a Hans Publishers journal article, and this reader is designed from what that
output actually looks like:

* every visual line of a paragraph is followed by an empty line, and the line that
  ends a paragraph carries a trailing space and sentence-final punctuation — so a
  paragraph ends at `…。 ` and wrapped lines are rejoined without a space (CJK);
* lines that are only whitespace (` `) separate layout blocks (body / footnote area /
  table / page furniture);
* footnotes sit at the bottom of a page as `1《…》，https://…，2023 年 7 月 11` with
  continuation lines, after a run of whitespace-only lines; their markers appear in
  the body as a detached digit (`榜首 5。`, `广东省 1`);
* page furniture: `https://doi.org/<doi>`, the author name on its own line and
  `DOI: <doi> <page> 法学` (the only page-number carrier);
* the first body line of a new page starts with a space when it continues a sentence;
* a table is introduced by `Table N.` / `表 N.` captions, its cells come out column by
  column, wrapped at each column's width, and a row ends with the 代表省份 cell and its
  footnote marker (`广东省 1`); the table region ends at the next whitespace-only line;
* the PDF outline (bookmarks) is appended at the end as tab-indented lines; it is used
  to confirm section headings and is not body text.

Output units: `title`, `abstract` (Chinese and English; keywords when present),
`section` (one per heading, text = the heading), `paragraph` (path = section headings),
`table` (`cell | cell` rows), `footnote` (number = marker, pulled out of the body; the
body keeps the marker as `[注N]`) and `reference` (one per entry). A citation for later
学理观点 labelling is stored in `Document.extra["citation"]`.

Pages: only page-number lines are trusted. The text between the page break before a
`DOI: … N 法学` line and that line is page N, the text after it up to the next break is
page N+1. Breaks are the page furniture itself, the end of a footnote block and a
space-indented line that continues an open sentence. Units elsewhere keep page None.
"""
from __future__ import annotations

import json
import re
from itertools import combinations
from dataclasses import dataclass, field
from pathlib import Path

from corpus.normalize import join_texts, normalize_text
from corpus.records import Document, IngestError, Unit, make_doc_id, make_unit_id
from corpus.text import decode_text_file, parse_date

# --- line patterns -------------------------------------------------------------------

DOI_HEADER = re.compile(r"^DOI[:：]\s*10\.\S+(?:\s+(?P<page>\d{1,5}))?(?:\s+\S+)*$", re.IGNORECASE)
DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/10\.\S+$", re.IGNORECASE)
BARE_PAGE_NUMBER = re.compile(r"^[-－—]?\s*(?P<page>\d{1,5})\s*[-－—]?$")
FOOTNOTE_START = re.compile(r"^(?P<num>\d{1,2})(?=[《“\"(（\u4e00-\u9fffA-Za-z])")
SECTION_HEADING = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2})*)\.?\s+(?P<title>\S.{0,60})$")
REFERENCE_START = re.compile(r"^\[(?P<num>\d{1,3})\]\s*(?P<rest>.*)$")
TABLE_CAPTION_EN = re.compile(r"^Table\s+(?P<num>\d+)\.?\s", re.IGNORECASE)
TABLE_CAPTION_ZH = re.compile(r"^表\s*(?P<num>\d+)(?:[.．]\s*|\s+)(?=\S)")
MAX_CAPTION_LEN = 120
#: A detached footnote marker after CJK text: `榜首 5。`, `广东省 1`.
INLINE_MARKER = re.compile(r"(?<=[\u4e00-\u9fff）”]) (?P<num>\d{1,2})(?= ?[。，；、]| *$)")
SENTENCE_END = re.compile(r"[。！？.!?][”’\"')）\]]*$")
ABSTRACT_ZH = {"摘要", "内容摘要", "内容提要", "提要"}
ABSTRACT_EN = {"abstract"}
KEYWORDS = re.compile(r"^(关键词|关键字|Keywords|Key words)\s*[:：]?\s*(?P<rest>.*)$", re.IGNORECASE)
REFERENCES = {"参考文献", "references", "注释", "参考资料"}


@dataclass
class _Paragraph:
    """Rejoined body text under construction, with the raw line indices it came from."""

    pieces: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    def add(self, piece: str, row: int) -> None:
        self.pieces.append(piece)
        self.rows.append(row)


@dataclass
class _Footnote:
    number: int
    pieces: list[str]
    rows: list[int]
    path: tuple[str, ...]


def read_paper(path: Path) -> Document:
    """Read a raw-extracted paper (`X.txt` + `X.meta.json`) into a Document (see module doc)."""
    path = Path(path)
    meta = load_meta(path)
    raw_lines = decode_text_file(path).splitlines()
    body, outline = split_outline(raw_lines)
    doc_id = make_doc_id(str(path))
    warnings: list[str] = []
    parser = _PaperParser(body, outline, meta, doc_id)
    units = parser.parse()
    warnings.extend(parser.warnings)

    title = meta.get("title") or (outline[0] if outline else "")
    if not title:
        raise IngestError(str(path), "paper has no title: no meta.json title and no PDF outline")
    title_unit_text = "\n".join(x for x in (title, meta.get("title_en", ""), _authors_text(meta)) if x)
    units.insert(0, Unit(unit_id=make_unit_id(doc_id, "title", 0), doc_id=doc_id, kind="title", text=title_unit_text))
    if not any(u.kind == "paragraph" for u in units):
        raise IngestError(str(path), "no body text recognised in the paper")

    journal = meta.get("journal", "")
    citation = {
        "author": _authors_text(meta),
        "title": title,
        "journal": journal,
        "year": meta.get("year", ""),
        "doi": meta.get("doi", ""),
        "license": meta.get("license", ""),
    }
    extra = {"citation": citation, "outline": outline}
    if meta.get("doi"):
        extra["doi"] = meta["doi"]
    return Document(
        doc_id=doc_id,
        title=title,
        doc_type="学术文献",
        source_path=str(path),
        source_format="scholarship",
        units=units,
        issuer=journal,
        version_date=parse_date(str(meta.get("date", ""))),
        warnings=warnings,
        extra=extra,
    )


def load_meta(path: Path) -> dict:
    """The `<stem>.meta.json` sidecar next to the text ({} when absent)."""
    sidecar = path.with_name(path.stem + ".meta.json")
    if not sidecar.exists():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(str(sidecar), f"unreadable metadata sidecar ({exc})") from exc
    if not isinstance(data, dict):
        raise IngestError(str(sidecar), "metadata sidecar is not a JSON object")
    return data


def _authors_text(meta: dict) -> str:
    author = meta.get("author") or meta.get("authors") or ""
    return "、".join(author) if isinstance(author, list) else str(author)


def split_outline(raw_lines: list[str]) -> tuple[list[str], list[str]]:
    """Separate the trailing PDF outline (tab-indented bookmark lines) from the body."""
    start = len(raw_lines)
    for i in range(len(raw_lines) - 1, -1, -1):
        line = raw_lines[i]
        if line.startswith("\t"):
            start = i
        elif line.strip():
            break
    outline = [ln.strip() for ln in raw_lines[start:] if ln.strip()]
    return raw_lines[:start], outline


def _compact(text: str) -> str:
    """Key for comparing headings: no spaces at all (`摘  要` = `摘要`)."""
    return re.sub(r"\s+", "", text)


# --- parsing -------------------------------------------------------------------------


class _PaperParser:
    """One pass over the body lines; see the module docstring for the layout rules."""

    def __init__(self, lines: list[str], outline: list[str], meta: dict, doc_id: str):
        self.lines = lines
        self.outline = {_compact(x) for x in outline}
        self.author_lines = {_compact(a) for a in re.split(r"[,，、;；]", _authors_text(meta)) if a.strip()}
        self.author_lines.add(_compact(_authors_text(meta)))
        self.author_lines.discard("")
        self.doc_id = doc_id
        self.warnings: list[str] = []
        self.footnotes: list[_Footnote] = []
        self.references: list[tuple[int, list[str], list[int]]] = []
        self.keywords: list[str] = []
        self.page_of: dict[int, int] = {}
        self.breaks: list[tuple[int, int | None]] = []  # (first row of the new page, number of the page that ended)
        self.out: list[tuple[str, dict]] = []  # (kind, fields) in body order

    # -- line classes
    def is_furniture(self, text: str) -> bool:
        compact = _compact(text)
        return bool(
            DOI_HEADER.match(text) or DOI_URL.match(text) or compact in self.author_lines or BARE_PAGE_NUMBER.match(text)
        )

    def is_heading(self, text: str) -> re.Match[str] | None:
        m = SECTION_HEADING.match(text)
        if not m:
            return None
        ends_like_sentence = SENTENCE_END.search(text) is not None and not text.endswith(".")
        if ends_like_sentence:  # `1. 引言` is a heading, `1. 这是一句话。` is not
            return None
        if self.outline:
            return m if _compact(text) in self.outline else None
        return m if len(text) <= 40 else None

    # -- main pass
    def parse(self) -> list[Unit]:
        mode = "front"  # front | abstract_zh | abstract_en | body | references
        path: list[tuple[str, str]] = []  # (number, heading text)
        para: _Paragraph | None = None
        abstract: dict[str, list[tuple[str, int]]] = {"zh": [], "en": []}
        in_footnote: _Footnote | None = None
        after_separator = False
        expected_footnote = 1
        i = 0
        n = len(self.lines)

        def flush() -> None:
            nonlocal para
            if para and para.pieces:
                self.out.append(("paragraph", {"para": para, "path": tuple(h for _, h in path)}))
            para = None

        while i < n:
            raw = self.lines[i]
            text = raw.strip()
            if not raw:
                i += 1
                continue
            if not text:  # whitespace-only: layout separator (footnote area, end of a table)
                after_separator = True
                in_footnote = None
                i += 1
                continue
            if self.is_furniture(text):
                m = DOI_HEADER.match(text) or BARE_PAGE_NUMBER.match(text)
                number = int(m.group("page")) if m and m.group("page") else None
                self._page_break(i + 1, number)
                in_footnote = None
                i += 1
                continue
            fm = FOOTNOTE_START.match(text)
            if fm and int(fm.group("num")) == expected_footnote and (after_separator or in_footnote):
                in_footnote = _Footnote(int(fm.group("num")), [text[fm.end():]], [i], tuple(h for _, h in path))
                self.footnotes.append(in_footnote)
                expected_footnote += 1
                i += 1
                continue
            if in_footnote is not None and not raw[0].isspace():
                in_footnote.pieces.append(text)
                in_footnote.rows.append(i)
                i += 1
                continue
            if in_footnote is not None:  # first line after a footnote block: a new page
                self._page_break(i, None)
            in_footnote = None
            after_separator = False

            compact = _compact(text)
            if compact in ABSTRACT_ZH and mode == "front":
                mode = "abstract_zh"
                i += 1
                continue
            if compact.lower() in ABSTRACT_EN and mode in ("front", "abstract_zh"):
                mode = "abstract_en"
                i += 1
                continue
            km = KEYWORDS.match(text)
            if km and mode in ("front", "abstract_zh", "abstract_en"):
                self.keywords.append(km.group("rest").strip())
                i += 1
                continue
            if compact.lower() in REFERENCES:
                flush()
                mode = "references"
                self.out.append(("section", {"number": "", "text": text, "path": (), "row": i}))
                i += 1
                continue
            if mode == "references":
                rm = REFERENCE_START.match(text)
                if rm:
                    self.references.append((int(rm.group("num")), [rm.group("rest")], [i]))
                elif self.references:
                    self.references[-1][1].append(text)
                    self.references[-1][2].append(i)
                i += 1
                continue
            heading = self.is_heading(text)
            if heading:
                flush()
                mode = "body"
                number = heading.group("num")
                depth = number.count(".") + 1
                path = [p for p in path if p[0].count(".") + 1 < depth]
                self.out.append(
                    ("section", {"number": number, "text": text, "path": tuple(h for _, h in path), "row": i})
                )
                path.append((number, normalize_text(text)))
                i += 1
                continue
            if is_table_caption(text):
                i = self._table(i, tuple(h for _, h in path))
                continue
            if mode in ("abstract_zh", "abstract_en"):
                abstract["zh" if mode == "abstract_zh" else "en"].append((raw, i))
                i += 1
                continue
            # body text
            if raw[0].isspace() and para is not None and para.pieces:
                self._page_break(i, None)  # an indented line continuing an open sentence starts a page
            if para is None:
                para = _Paragraph()
            para.add(raw, i)
            if raw != raw.rstrip() and SENTENCE_END.search(text):
                flush()
            i += 1
        flush()
        self._assign_pages()
        return self._units(abstract)

    def _page_break(self, row: int, ended_page: int | None) -> None:
        if self.breaks and self.breaks[-1][0] == row:
            if ended_page is not None:
                self.breaks[-1] = (row, ended_page)
            return
        self.breaks.append((row, ended_page))

    def _assign_pages(self) -> None:
        """Pages known from numbered breaks only: segment before break N is page N, after is N+1."""
        bounds = [0] + [row for row, _ in self.breaks] + [len(self.lines)]
        numbers = [number for _, number in self.breaks]
        # collapse furniture runs: consecutive breaks with no text between act as one
        for k, number in enumerate(numbers):
            if number is None:
                continue
            # segment k ends at this break → page `number`; walk back over empty segments
            j = k
            while j > 0 and not self._has_text(bounds[j], bounds[j + 1]):
                j -= 1
            for row in range(bounds[j], bounds[j + 1]):
                self.page_of[row] = number
            j = k + 1
            while j + 1 < len(bounds) and not self._has_text(bounds[j], bounds[j + 1]):
                j += 1
            if j + 1 < len(bounds):
                for row in range(bounds[j], bounds[j + 1]):
                    self.page_of[row] = number + 1

    def _has_text(self, start: int, end: int) -> bool:
        return any(self.lines[r].strip() and not self.is_furniture(self.lines[r].strip()) for r in range(start, end))

    # -- table
    def _table(self, start: int, path: tuple[str, ...]) -> int:
        """Consume a table region starting at its caption; returns the next row to read."""
        captions: list[str] = []
        rows: list[tuple[str, int]] = []
        i = start
        while i < len(self.lines):
            raw = self.lines[i]
            text = raw.strip()
            if raw and not text:
                break  # whitespace-only line: end of the table region
            if text and rows and (self.is_heading(text) or _compact(text).lower() in REFERENCES):
                break  # no separator line: a heading certainly ends the table
            if text and is_table_caption(text) and not rows:
                captions.append(text)
            elif text:
                rows.append((text, i))
            i += 1
        zh = [c for c in captions if TABLE_CAPTION_ZH.match(c)]
        m = TABLE_CAPTION_ZH.match(zh[0]) if zh else TABLE_CAPTION_EN.match(captions[0])
        number = f"表{m.group('num')}"
        rendered, ok = render_table([t for t, _ in rows])
        if not ok:
            self.warnings.append(f"{number}: row boundaries not recognised; lines kept as rows")
        self.out.append(
            ("table", {"number": number, "captions": captions, "rows": rendered, "path": path, "row": start,
                       "rows_span": [r for _, r in rows]})
        )
        return i

    # -- units
    def _units(self, abstract: dict[str, list[tuple[str, int]]]) -> list[Unit]:
        footnote_numbers = {f.number for f in self.footnotes}
        units: list[Unit] = []
        counts: dict[str, int] = {}

        def add(kind: str, text: str, rows: list[int], **fields) -> None:
            index = counts.get(kind, 0)
            counts[kind] = index + 1
            pages = [self.page_of.get(r) for r in rows] if rows else []
            units.append(
                Unit(
                    unit_id=make_unit_id(self.doc_id, kind, index),
                    doc_id=self.doc_id,
                    kind=kind,
                    text=text,
                    page=pages[0] if pages else None,
                    page_end=pages[-1] if pages else None,
                    **fields,
                )
            )

        for key, label in (("zh", "摘要"), ("en", "Abstract")):
            if abstract[key]:
                add("abstract", self._join(abstract[key], footnote_numbers), [r for _, r in abstract[key]], number=label)
        if self.keywords:
            add("abstract", "关键词：" + "；".join(self.keywords), [], number="关键词")
        else:
            self.warnings.append("no keywords line in the extracted text")

        for kind, f in self.out:
            if kind == "paragraph":
                para: _Paragraph = f["para"]
                text = self._join(list(zip(para.pieces, para.rows)), footnote_numbers)
                if text:
                    add("paragraph", text, para.rows, path=f["path"])
            elif kind == "section":
                number = f["number"]
                last = number.split(".")[-1] if number else ""
                add(
                    "section",
                    normalize_text(f["text"]),
                    [f["row"]],
                    number=number or _compact(f["text"]),
                    ordinal=int(last) if last.isdigit() else None,
                    path=f["path"],
                )
            elif kind == "table":
                body = [" | ".join(_mark_footnotes_in_cell(c, footnote_numbers) for c in row) for row in f["rows"]]
                text = "\n".join([normalize_text(c) for c in f["captions"]] + body)
                add("table", text, f["rows_span"], number=f["number"], path=f["path"])
        for note in self.footnotes:
            text = normalize_text(join_texts([p.strip() for p in note.pieces]))
            add("footnote", text, note.rows, number=str(note.number), ordinal=note.number, path=note.path)
        for number, pieces, rows in self.references:
            text = normalize_text(_join_latin_aware([p.strip() for p in pieces]))
            add("reference", text, rows, number=f"[{number}]", ordinal=number, path=("参考文献",))
        return units

    def _join(self, pieces: list[tuple[str, int]], footnote_numbers: set[int]) -> str:
        """Rejoin wrapped lines into paragraphs (a trailing-space sentence end keeps a break)."""
        paragraphs: list[list[str]] = [[]]
        for raw, _row in pieces:
            piece = _mark_footnotes(raw.strip(), footnote_numbers)
            paragraphs[-1].append(piece)
            if raw != raw.rstrip() and SENTENCE_END.search(raw.strip()):
                paragraphs.append([])
        texts = [normalize_text(_join_latin_aware(p)) for p in paragraphs if p]
        return "\n".join(t for t in texts if t)


def is_table_caption(text: str) -> bool:
    """`Table 1. …` / `表 1. …` on a short line without sentence end (not `表1所示…。`)."""
    if len(text) > MAX_CAPTION_LEN or text.endswith(("。", "；", "：")):
        return False
    return bool(TABLE_CAPTION_EN.match(text) or TABLE_CAPTION_ZH.match(text))


def _mark_footnotes(text: str, footnote_numbers: set[int]) -> str:
    """Turn a detached superscript (`榜首 5。`) into an explicit `[注5]` for known footnotes."""

    def repl(m: re.Match[str]) -> str:
        number = int(m.group("num"))
        return f"[注{number}]" if number in footnote_numbers else m.group(0)

    return INLINE_MARKER.sub(repl, text)


def _mark_footnotes_in_cell(cell: str, footnote_numbers: set[int]) -> str:
    return normalize_text(_mark_footnotes(cell, footnote_numbers))


def _join_latin_aware(pieces: list[str]) -> str:
    """Concatenate wrapped pieces: nothing between CJK, one space where Latin text wraps.

    `corpus.normalize.join_texts` only adds a space between two alphanumerics; English
    abstracts also wrap after punctuation (`interests` / `and`, `event.` / `In`).
    """
    out = ""
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if out and out[-1].isascii() and not out[-1].isspace() and piece[0].isascii() and out[-1] != "-":
            out += " " + piece
        else:
            out = join_texts([out, piece]) if out else piece
    return out


# --- table reconstruction ----------------------------------------------------------------

#: A row ends with its last cell followed by a detached footnote marker (`广东省 1`).
ROW_END = re.compile(r"^(?P<before>.*?)\s*(?P<cell>\S+)\s+(?P<num>\d{1,2})\s*$")


def render_table(lines: list[str]) -> tuple[list[list[str]], bool]:
    """Rows of cells from a table whose cells an extractor emitted column by column.

    The first line is the header (cells separated by spaces). A row ends at a line that
    ends in `<cell> <marker>`; its last cell is that cell. The other lines of the row
    are split into the remaining columns by `split_columns`, first per row, then again
    with the column widths learnt from all rows. Returns (rows, True), or every line as
    a one-cell row and False when no row ending is found.
    """
    if not lines:
        return [], False
    header = lines[0].split()
    ncols = len(header)
    bodies: list[list[str]] = []
    last_cells: list[str] = []
    pending: list[str] = []
    for text in lines[1:]:
        m = ROW_END.match(text)
        if m and ncols >= 2:
            if m.group("before"):
                pending.append(m.group("before"))
            bodies.append(pending)
            last_cells.append(f"{m.group('cell')} {m.group('num')}")
            pending = []
        else:
            pending.append(text)
    if not bodies:
        return [[t] for t in lines], False
    first_pass = [split_columns(body, ncols - 1) for body in bodies]
    widths = [
        max((len(_compact(t)) for groups in first_pass for t in groups[c]), default=1) for c in range(ncols - 1)
    ]
    rows: list[list[str]] = [header]
    for body, last in zip(bodies, last_cells):
        cells = split_columns(body, ncols - 1, widths)
        rows.append([_join_latin_aware(c) for c in cells] + [last])
    if pending:
        rows.append([_join_latin_aware(pending)])
    return rows, True


#: Weight of the "cells of one row have similar line counts" preference in `split_columns`.
ROW_BALANCE_WEIGHT = 0.1


def split_columns(lines: list[str], ncols: int, widths: list[int] | None = None) -> list[list[str]]:
    """Split a row's lines (in column order) into `ncols` consecutive groups (the cells).

    Inside a cell every line but the last is wrapped at the column's width, so it is
    nearly as long as the column is wide; the last line may be shorter. The split that
    minimises the relative shortfall of non-final lines wins (exhaustive over cut
    points — rows have a handful of lines). With known column `widths` a line wider
    than its column is heavily penalised, and a small term prefers cells of similar line
    counts (all cells of a row share its height). Without widths each group's own
    longest line stands in for the column width.
    """
    n = len(lines)
    if n <= ncols:
        return [[t] for t in lines] + [[] for _ in range(ncols - n)]
    lengths = [len(_compact(t)) for t in lines]

    def group_cost(column: int, a: int, b: int) -> float:
        width = widths[column] if widths else max(lengths[a:b])
        cost = sum((width - length) / width for length in lengths[a : b - 1] if length <= width)
        cost += sum(1.0 for length in lengths[a:b] if length > width + 1)
        return cost

    best: tuple[float, tuple[int, ...]] | None = None
    for cuts in combinations(range(1, n), ncols - 1):
        bounds = (0, *cuts, n)
        sizes = [bounds[k + 1] - bounds[k] for k in range(ncols)]
        cost = sum(group_cost(k, bounds[k], bounds[k + 1]) for k in range(ncols))
        if widths:
            cost += ROW_BALANCE_WEIGHT * sum(max(sizes) - s for s in sizes)
        if best is None or cost < best[0] - 1e-9:
            best = (cost, bounds)
    bounds = best[1]  # type: ignore[index]  # n > ncols guarantees at least one split
    return [lines[bounds[k] : bounds[k + 1]] for k in range(ncols)]
