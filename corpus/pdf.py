"""Read a PDF (text layer or scanned) into clean `Line`s and then a `Document`.

Pipeline, one page at a time, then across pages:

1. Text layer → characters (pdfplumber). Ruled tables are found with pdfplumber's
   table finder; *degenerate* tables (one column, or every row a single cell holding a
   whole text line — Word/WPS exports draw every text line on its own filled rectangle)
   are rejected and their text is read as ordinary lines. Kept tables become
   `cell | cell` rows and their characters are removed from the running text.
2. Characters → lines by vertical overlap (not by a fixed y tolerance: quotes and Latin
   digits in another font sit a few points higher than the CJK glyphs of the same line).
   Explicit space glyphs and gaps wider than a third of an em become spaces (dropped
   again between CJK by normalisation); a gap wider than three ems separates fields
   sharing a baseline (`编制部门：…  单位：元`), which keep one space. A page in two
   columns (a gutter few lines cross, justified text on both sides: `_gutter`; a block
   set across the page above or below the columns does not count) is read column by
   column within the bands that lines crossing the gutter cut (`_reading_order`).
3. Pages without a text layer are rendered with pypdfium2 and OCRed with RapidOCR
   (bundled models, nothing downloaded); OCR boxes go through the same line builder.
4. Running headers/footers are removed by *repetition*: a line near the top or bottom of
   a page whose digit-masked text recurs on many pages (`－#－`, `第#页`, a document
   title). Page numbers, bare or decorated in ways OCR reads differently from page to page
   (`—3-`, `-4-`), are removed when their value advances with the page index.
5. A table of contents (`目录` followed by heading-like lines, with or without dot leaders
   and page numbers) is dropped up to the first body line.
6. Wrapped lines are rejoined (`corpus.normalize.wrap_groups`) with a layout hint per
   line: a previous line that stops short of the right margin, an indented first line or
   a font-size change start a new paragraph; a full previous line continues — across a
   page break too. Every rejoined line keeps its first page, and units get page/page_end
   from a character→page map of the cleaned text.
7. Metadata (title, doc_type, issuer, version_date, doc number) from the first page and
   the preamble; structure from `corpus.structure.structure_law` when the text has
   articles, `corpus.text.structure_policy` otherwise, with a paragraph fallback.

Tables become their own `kind="table"` units (rows joined by newlines, preceded by the
short caption line above the table), placed after the unit of the page they sit on: a
budget table is a retrieval target of its own and would swamp a section's text.

doc_type mapping (`guess_doc_type`): 法律 for 中华人民共和国…法 or a preamble adopted by the
全国人民代表大会 (or its standing committee); 司法解释 for 最高人民法院/最高人民检察院 解释/规定;
行政法规 for articles issued by 国务院 (国务院令, or a 条例 whose issuer is 国务院); 地方性法规
for articles adopted by a provincial/municipal 人民代表大会; 规划 for a title containing 规划
(a plan, not a law); everything else — 意见, 通知, 方案, 预算, 决算 — is 规范性文件.
"""
from __future__ import annotations

import bisect
import logging
import math
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from corpus.normalize import join_texts, normalize_text, starts_structure, wrap_groups
from corpus.numerals import DIGIT_CHARS, NUMERAL_CHARS, SMALL_NUMERAL_CHARS, chinese_to_int
from corpus.classify import congress_region, infer_doc_type
from corpus.records import Document, IngestError, Line, Unit, make_doc_id, make_unit_id
from corpus.structure import structure_law
from corpus.text import structure_policy
from corpus.versions import law_key, naming_date

log = logging.getLogger(__name__)

#: Render scale for OCR: 72 dpi × 2 = 144 dpi — as accurate as 180 dpi on 10–16 pt CJK
#: text in our tests, and 20 % faster.
OCR_SCALE = 2.0
#: A document whose characters are mostly `(cid:NNN)` has no usable text layer.
CID_GARBAGE_SHARE = 0.3
_CID_RE = re.compile(r"\(cid:\d+\)")


@dataclass
class _RawLine:
    """A line as laid out on the page, before cleaning and rejoining."""

    text: str
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    page_width: float
    page_height: float
    ocr: bool = False
    fields: int = 1  # >1: separate fields on one baseline, a layout row rather than prose


@dataclass
class _Table:
    """A kept (non-degenerate) table: `cell | cell` rows, where it sits, its caption."""

    rows: list[str]
    page: int
    top: float
    caption: str = ""


@dataclass
class _Joined:
    """One rejoined line with the page range it covers."""

    text: str
    page: int
    page_end: int
    ocr: bool
    size: float


@dataclass
class PdfContent:
    """Everything `read_pdf` needs from a PDF: cleaned lines, tables and notes."""

    lines: list[_Joined]
    raw_first_page: list[_RawLine]
    tables: list[_Table]
    pages: int
    warnings: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    char_pages: list[int] = field(default_factory=list)
    char_stream: str = ""


# --- opening -------------------------------------------------------------------------


def _open_error_reason(exc: Exception) -> str:
    """Turn a pdfminer/pdfplumber exception into a reason a user can act on."""
    if type(exc).__name__ == "PdfminerException" and exc.args and isinstance(exc.args[0], Exception):
        exc = exc.args[0]  # pdfplumber wraps the pdfminer error; the inner type says more
    name = type(exc).__name__
    text = str(exc)
    if "Password" in name or "Encrypt" in name or "password" in text.lower():
        return "encrypted PDF (password required); remove the password and ingest again"
    if name in {"PSEOF", "PDFSyntaxError", "PDFNoValidXRef", "PdfiumError"} or re.search(r"EOF|/Root|xref|trailer", text):
        return f"corrupt or truncated PDF ({name}: {text or 'unreadable structure'})"
    return f"unreadable PDF ({name}: {text})"


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(1024)
    except OSError as exc:
        raise IngestError(str(path), f"cannot read file ({exc.strerror or exc})") from None
    if not head:
        raise IngestError(str(path), "empty file (0 bytes)")
    if b"%PDF" not in head:
        raise IngestError(str(path), "not a PDF (no %PDF header)")


# --- characters → lines ----------------------------------------------------------------


@dataclass
class _Glyph:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


def _cluster_lines(glyphs: Iterable[_Glyph]) -> list[list[_Glyph]]:
    """Group glyphs into lines by vertical overlap, then order each line left to right.

    A glyph joins the current line when its vertical centre lies inside the line's band
    or the band's centre lies inside the glyph; this keeps raised quotes and baseline-
    shifted digits on their line without merging neighbouring lines.
    """
    ordered = sorted(glyphs, key=lambda g: ((g.top + g.bottom) / 2, g.x0))
    lines: list[list[_Glyph]] = []
    band_top = band_bottom = 0.0
    for glyph in ordered:
        centre = (glyph.top + glyph.bottom) / 2
        if lines:
            band_centre = (band_top + band_bottom) / 2
            if band_top <= centre <= band_bottom or glyph.top <= band_centre <= glyph.bottom:
                lines[-1].append(glyph)
                if glyph.bottom - glyph.top > band_bottom - band_top:
                    band_top, band_bottom = glyph.top, glyph.bottom
                continue
        lines.append([glyph])
        band_top, band_bottom = glyph.top, glyph.bottom
    return [sorted(line, key=lambda g: g.x0) for line in lines]


#: Two columns: at least this many lines on the page, at least this many with text on both
#: sides of one gutter, at most this share crossing it (of the page's lines, or of the lines
#: from the first to the last with text on both sides when those are at least
#: MIN_COLUMN_LINES), and at least this share of the lines with a left part ending within
#: `FULL_LINE_EMS` of the gutter (justified column text).
MIN_COLUMN_LINES, MIN_SPLIT_LINES, MAX_CROSSING_SHARE, FULL_LEFT_SHARE = 8, 3, 0.15, 0.5
#: The gutter is looked for in the middle of the text's width, at least this many ems wide.
GUTTER_BAND, GUTTER_EMS, FULL_LINE_EMS = (0.3, 0.7), 1.0, 2.0


def _gutter(lines: list[list[_Glyph]]) -> float | None:
    """The x of a gutter between a left and a right column of text, or None for a one-column
    page. Around the gutter (`GUTTER_EMS` wide) few lines have a glyph (a title over both
    columns, a centred page number); some lines have text on both sides; and most left
    parts run up to it, as justified column text does — a table's short fields do not.
    Why: a gazette prints a regulation in two columns whose lines share baselines, and lines
    grouped by height across the page interleaved them (`第七条 …` mid-line, 17 of 39
    articles lost). When the lines with text on both sides span a column's worth of lines,
    only the lines between them count as crossing: a first page that sets its title and
    opening articles across the page before turning to two columns is a two-column page
    below a one-column block (`_reading_order` reads that block as bands of its own)."""
    glyphs = [g for line in lines for g in line if g.text.strip()]
    if len(lines) < MIN_COLUMN_LINES or not glyphs:
        return None
    left, right = min(g.x0 for g in glyphs), max(g.x1 for g in glyphs)
    em = statistics.median(g.size for g in glyphs) or 1.0
    half = GUTTER_EMS * em / 2
    spans = [[(g.x0, g.x1) for g in line if g.text.strip()] for line in lines]
    best, best_split = None, 0
    x = left + GUTTER_BAND[0] * (right - left)
    while x <= left + GUTTER_BAND[1] * (right - left):
        crossing, split_at, full, with_left = [], [], 0, 0
        for index, xs in enumerate(spans):
            if any(x0 < x + half and x1 > x - half for x0, x1 in xs):
                crossing.append(index)
                continue
            lefts = [x1 for _, x1 in xs if x1 <= x - half]
            if lefts and any(x0 >= x + half for x0, _ in xs):
                split_at.append(index)
            with_left += bool(lefts)
            full += bool(lefts) and max(lefts) >= x - half - FULL_LINE_EMS * em
        split = len(split_at)
        # few lines cross on the whole page, or few between the first and the last line with
        # text on both sides when those span a column's worth of lines (a one-column block
        # above or below the columns: the page's own bands)
        region = split_at[-1] - split_at[0] + 1 if split_at else 0
        inside = sum(split_at[0] < i < split_at[-1] for i in crossing) if split_at else 0
        few_crossing = len(crossing) <= MAX_CROSSING_SHARE * len(lines) or (
            region >= MIN_COLUMN_LINES and inside <= MAX_CROSSING_SHARE * region)
        if (few_crossing and split >= MIN_SPLIT_LINES
                and full >= FULL_LEFT_SHARE * max(with_left, 1) and split > best_split):
            best, best_split = x, split
        x += em / 2
    return best


def _reading_order(lines: list[list[_Glyph]]) -> list[list[_Glyph]]:
    """Lines in reading order: a one-column page as grouped; on a two-column page (`_gutter`)
    the lines that cross the gutter (a title over both columns, a centred page number) cut
    the page into bands, and each band is read left column, then right column."""
    gutter = _gutter(lines)
    if gutter is None:
        return lines

    def crosses(line: list[_Glyph]) -> bool:
        return any(g.x0 < gutter < g.x1 for g in line if g.text.strip())

    crossing = sorted((line for line in lines if crosses(line)), key=lambda line: min(g.top for g in line))
    cuts = [min(g.top for g in line) for line in crossing]
    columns = [g for line in lines if not crosses(line) for g in line]
    sides = [_cluster_lines([g for g in columns if ((g.x0 + g.x1) / 2 < gutter) == is_left]) for is_left in (True, False)]
    out: list[list[_Glyph]] = []
    for band in range(len(crossing) + 1):
        for side in sides:  # left column, then right column, of this band
            out += [line for line in side if bisect.bisect_right(cuts, min(g.top for g in line)) == band]
        if band < len(crossing):
            out.append(crossing[band])
    return out


#: A horizontal gap wider than this many ems separates fields (`编制部门：…    单位：元`).
FIELD_GAP_EMS = 3.0


def _line_fields(glyphs: Sequence[_Glyph]) -> list[str]:
    """Concatenate glyphs into normalised text, one string per field.

    A gap wider than a third of an em becomes a space (which normalisation then drops
    between CJK characters); a gap wider than `FIELD_GAP_EMS` separates two fields that
    merely share a baseline, and those keep one space between them.
    """
    fields_: list[str] = []
    parts: list[str] = []
    previous: _Glyph | None = None
    for glyph in glyphs:
        if previous is not None and glyph.x0 - previous.x1 > FIELD_GAP_EMS * min(glyph.size, previous.size):
            fields_.append("".join(parts))
            parts = []
        if glyph.text == " ":
            if parts and parts[-1] != " ":
                parts.append(" ")
            continue
        if previous is not None and parts:
            gap = glyph.x0 - previous.x1
            if gap > 0.33 * min(glyph.size, previous.size) and parts[-1] != " ":
                parts.append(" ")
            elif gap < -0.5 * glyph.size and glyph.text == previous.text:
                continue  # overprinted duplicate (fake bold)
        parts.append(glyph.text)
        previous = glyph
    fields_.append("".join(parts))
    return [text for text in (normalize_text(field) for field in fields_) if text]


def _raw_lines(groups: list[list[_Glyph]], page: int, width: float, height: float, ocr: bool) -> list[_RawLine]:
    out = []
    for group in groups:
        glyphs = [g for g in group if g.text != " "]
        fields_ = _line_fields(group) if glyphs else []
        text = " ".join(fields_)
        if not text:
            continue
        sizes = [g.size for g in glyphs]
        out.append(
            _RawLine(
                text=text,
                page=page,
                x0=min(g.x0 for g in glyphs),
                x1=max(g.x1 for g in glyphs),
                top=min(g.top for g in glyphs),
                bottom=max(g.bottom for g in glyphs),
                size=statistics.median(sizes) if sizes else glyphs[0].size,
                page_width=width,
                page_height=height,
                ocr=ocr,
                fields=len(fields_),
            )
        )
    return out


# --- tables --------------------------------------------------------------------------


def _cell_text(cell: str | None) -> str:
    return normalize_text(join_texts([part.strip() for part in (cell or "").splitlines() if part.strip()]))


def table_rows(cells: Sequence[Sequence[str | None]]) -> list[str]:
    """Render extracted table cells as `cell | cell` rows.

    `None` cells are the continuation of a merged cell and are left out; empty cells are
    kept (as empty strings) so columns still line up in the rest of the row. Rows with no
    text at all are dropped.
    """
    rows = []
    for row in cells:
        texts = [_cell_text(cell) for cell in row if cell is not None]
        if any(texts):
            rows.append(" | ".join(texts).strip())
    return rows


def is_degenerate_table(cells: Sequence[Sequence[str | None]]) -> bool:
    """True for the false tables that per-line filled rectangles produce.

    A real table has at least two rows and two columns, and at least two of its rows
    hold text in two or more cells. Word/WPS exports that draw every text line (or the
    whole text block) on a filled rectangle give one column, or rows whose only filled
    cell is a complete text line.
    """
    if len(cells) < 2 or max((len(row) for row in cells), default=0) < 2:
        return True
    multi = sum(1 for row in cells if sum(1 for cell in row if cell and cell.strip()) >= 2)
    return multi < 2


def _page_tables(page, page_no: int) -> tuple[list[_Table], list[tuple[float, float, float, float]]]:
    tables, boxes = [], []
    try:
        found = page.find_tables()
    except Exception as exc:  # table finding is best effort; text is still read
        log.debug("page %s: table finding failed: %s", page_no, exc)
        return [], []
    for table in found:
        cells = table.extract()
        if is_degenerate_table(cells):
            continue
        rows = table_rows(cells)
        if rows:
            tables.append(_Table(rows=rows, page=page_no, top=table.bbox[1]))
            boxes.append(table.bbox)
    return tables, boxes


def table_caption(lines: Sequence[_RawLine], table_top: float) -> str:
    """The table's title (a short line naming a 表) and the lines between it and the table.

    Only the three lines right above the table are considered, so a paragraph that
    happens to precede a table never becomes its caption.
    """
    above = [line for line in lines if line.bottom <= table_top + 1][-3:]
    for index in range(len(above) - 1, -1, -1):
        if "表" in above[index].text and len(above[index].text) <= 40 and not above[index].text.endswith("。"):
            return "\n".join(line.text for line in above[index:])
    return ""


def _inside(glyph: _Glyph, boxes: Sequence[tuple[float, float, float, float]]) -> bool:
    cx, cy = (glyph.x0 + glyph.x1) / 2, (glyph.top + glyph.bottom) / 2
    return any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)


# --- OCR -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _ocr_engine():
    """The RapidOCR engine, created on first use (loading its models takes a second)."""
    # the OCR engine and its models load in about a second: only for pages without a text layer
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def ocr_page_lines(path: Path, page_index: int, page_no: int) -> list[_RawLine]:
    """Render one page and OCR it into raw lines (top-to-bottom, left-to-right)."""
    # page rendering for OCR only
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        page = document[page_index]
        width, height = page.get_size()
        image = page.render(scale=OCR_SCALE).to_pil().convert("RGB")
        page.close()
    finally:
        document.close()
    result, _elapsed = _ocr_engine()(np.asarray(image))
    glyphs = []
    for box, text, _score in result or []:
        xs = [point[0] / OCR_SCALE for point in box]
        ys = [point[1] / OCR_SCALE for point in box]
        text = text.strip()
        if not text:
            continue
        top, bottom = min(ys), max(ys)
        # One glyph per OCR box: its size is the box height, its text the whole box.
        glyphs.append(_Glyph(text, min(xs), max(xs), top, bottom, (bottom - top) * 0.85))
    return _raw_lines(_cluster_lines(glyphs), page_no, width, height, ocr=True)


# --- running headers / footers / page numbers -----------------------------------------

_PAGE_NUMBER_RE = re.compile(
    r"^(?:[-－—–~～\s]*\d{1,4}[-－—–~～\s]*"
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}"
    r"|[Pp]age\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$"
)
_BARE_NUMBER_RE = re.compile(r"^\d{1,4}$")


def _mask_digits(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _edge_candidates(lines: Sequence[_RawLine]) -> list[_RawLine]:
    """First two and last two lines of a page, if they sit in the top/bottom 15 %."""
    picked = []
    for line in list(lines[:2]) + list(lines[-2:]):
        if line in picked:
            continue
        if line.top < 0.15 * line.page_height or line.bottom > 0.85 * line.page_height:
            picked.append(line)
    return picked


def find_running_lines(pages: Sequence[Sequence[_RawLine]]) -> set[int]:
    """ids of header/footer/page-number lines, found by repetition across pages.

    A digit-masked edge line that recurs on at least max(2, 40 %) of the pages is a
    running header or footer (`－#－`, `第#页 共#页`, a repeated title). A bare number — or
    any page-number form (`—3-`, `第3页`), whose decoration OCR reads differently from page
    to page (`—3-`, `-4-`) — is a page number only when number − page index is the same on
    several pages, so table cells or list numbers that happen to end a page survive.
    """
    n_pages = len(pages)
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_mask_digits(line.text) for line in _edge_candidates(lines)})
    threshold = max(2, math.ceil(0.4 * n_pages))
    removed: set[int] = set()
    offsets: Counter[int] = Counter()
    bare: list[tuple[_RawLine, int]] = []
    for lines in pages:
        for line in _edge_candidates(lines):
            key = _mask_digits(line.text)
            if _BARE_NUMBER_RE.match(line.text.strip()) or _PAGE_NUMBER_RE.match(line.text):
                offset = int(re.search(r"\d+", line.text).group()) - line.page
                offsets[offset] += 1
                bare.append((line, offset))
                if not _BARE_NUMBER_RE.match(line.text.strip()) and counts[key] >= threshold and len(key) <= 40:
                    removed.add(id(line))  # a running `－#－` footer, whatever its numbers
            elif counts[key] >= threshold and len(key) <= 40:
                removed.add(id(line))
    if bare:
        common_offset, support = offsets.most_common(1)[0]
        if support >= 2 or n_pages == 1:
            removed.update(id(line) for line, offset in bare if offset == common_offset)
    return removed


# --- table of contents -----------------------------------------------------------------

_TOC_TITLE_RE = re.compile(r"^目\s*[录次]$")
_LEADER_RE = re.compile(r"[.·…．\-—_ ]{3,}\s*\d*\s*$|\s+\d{1,4}$")
_TOC_ENTRY_RE = re.compile(
    rf"^(?:第[{NUMERAL_CHARS}]+(?:分编|编|章|节|部分)"
    rf"|[{SMALL_NUMERAL_CHARS}]+[、．.]|[（(][{SMALL_NUMERAL_CHARS}0-9]+[）)]|[0-9]{{1,2}}[.．、]"
    r"|附\s*则|附\s*录|附\s*件|序\s*言)"
)


def _toc_key(text: str) -> str:
    return re.sub(r"\s+", "", _LEADER_RE.sub("", text))


def is_toc_entry(text: str) -> bool:
    """A line of a table of contents: a heading-like entry, leaders, page numbers."""
    stripped = text.strip()
    if re.fullmatch(r"[\d\s]+|[“”\"'\s]+", stripped):
        return True
    has_leader = bool(re.search(r"[.·…．]{4,}", stripped))
    key = _toc_key(stripped)
    if "。" in key or len(key) > 60:
        return False
    return has_leader or bool(_TOC_ENTRY_RE.match(key))


def find_toc(lines: Sequence[_RawLine]) -> set[int]:
    """ids of table-of-contents lines: from `目录` up to the first body line.

    The body starts at the first line that is not TOC-like, or at the second occurrence
    of the first TOC entry (the heading repeated above the text, `第一章 总则`).
    """
    removed: set[int] = set()
    index = 0
    while index < len(lines):
        if not _TOC_TITLE_RE.match(lines[index].text.strip()):
            index += 1
            continue
        entries = []
        cursor = index + 1
        first_key = None
        while cursor < len(lines) and is_toc_entry(lines[cursor].text):
            key = _toc_key(lines[cursor].text)
            if first_key is None and not re.fullmatch(r"[\d“”\"']*", key):
                first_key = key
            elif key == first_key and entries:
                break
            entries.append(lines[cursor])
            cursor += 1
        if len(entries) >= 2:
            removed.add(id(lines[index]))
            removed.update(id(line) for line in entries)
        index = cursor
    return removed


# --- rejoining wrapped lines ------------------------------------------------------------


def _margins(lines: Sequence[_RawLine]) -> dict[float, tuple[float, float]]:
    """Left and right text margins per page width (portrait and landscape differ)."""
    by_width: dict[float, list[_RawLine]] = {}
    for line in lines:
        by_width.setdefault(round(line.page_width), []).append(line)
    margins = {}
    for width, group in by_width.items():
        long_lines = [line for line in group if len(line.text) >= 8] or group
        buckets = Counter(round(line.x0 / 2) * 2 for line in long_lines)
        need = max(1, 0.1 * len(long_lines))
        # A scan stitched from misaligned strips has no common left edge (no bucket holds
        # 10 % of the lines): fall back to the 10th percentile of the left edges.
        lefts = sorted(line.x0 for line in long_lines)
        left = min((x for x, count in buckets.items() if count >= need), default=lefts[int(0.1 * (len(lefts) - 1))])
        rights = sorted(line.x1 for line in long_lines)
        right = rights[int(0.9 * (len(rights) - 1))]
        margins[width] = (left, right)
    return margins


def _indents_paragraphs(lines: Sequence[_RawLine], margins) -> bool:
    """True if the document marks paragraphs with a first-line indent (≈2 characters)."""
    indented = 0
    for line in lines:
        left, _right = margins[round(line.page_width)]
        if left + 0.9 * line.size < line.x0 < left + 3.2 * line.size:
            indented += 1
    return indented >= max(2, 0.08 * len(lines))


def layout_hints(lines: Sequence[_RawLine]) -> list[bool | None]:
    """Per line: True = starts a paragraph, False = wrapped continuation, None = unsure."""
    if not lines:
        return []
    margins = _margins(lines)
    indents = _indents_paragraphs(lines, margins)
    hints: list[bool | None] = [True]
    for previous, current in zip(lines, lines[1:]):
        if current.ocr != previous.ocr:
            hints.append(None)
            continue
        # OCR box heights vary with the glyphs on the line: only a large change counts.
        size_jump = 0.35 if current.ocr else 0.12
        if abs(math.log(max(current.size, 0.1) / max(previous.size, 0.1))) > size_jump:
            hints.append(True)
            continue
        left, _right = margins[round(current.page_width)]
        previous_left, right = margins[round(previous.page_width)]
        if previous.x1 < right - 2.5 * previous.size:  # kinsoku can pull two glyphs down
            hints.append(True)
        elif previous.x0 > previous_left + 3.5 * previous.size or previous.fields > 1:
            # right-aligned/centred (单位：万元, a title) or a row of fields: never wrapped
            hints.append(True)
        elif current.x0 > left + 0.9 * current.size:
            hints.append(True)
        elif indents:
            hints.append(False)
        elif previous.text.endswith(("；", "：")) and not starts_structure(current.text):
            # a full line ending in ；/： continues unless an item (（一）…) follows:
            # in statutes a 款 does not end with a semicolon
            hints.append(False)
        else:
            hints.append(None)  # full line, no indent style: the text decides
    return hints


_OCR_LABEL_RE = re.compile(rf"^(第[{NUMERAL_CHARS}]+(?:条(?:之[{SMALL_NUMERAL_CHARS}]+)?|章|节|编|分编))(?=[^\s的规、，；。第至之])")


def _space_after_ocr_label(text: str) -> str:
    """OCR drops the space after `第一条`/`第一章`; restore it at a paragraph start.

    Only called for the first line of a paragraph, so a wrapped cross-reference
    (`…依照本法\n第六十二条规定`) is never affected.
    """
    return _OCR_LABEL_RE.sub(r"\1 ", text, count=1)


def _join(lines: Sequence[_RawLine]) -> list[_Joined]:
    groups = wrap_groups([line.text for line in lines], layout_hints(lines))
    out = []
    for group in groups:
        members = [lines[i] for i in group]
        text = join_texts([m.text for m in members])
        if members[0].ocr:
            text = _space_after_ocr_label(text)
        out.append(
            _Joined(
                text=text,
                page=members[0].page,
                page_end=members[-1].page,
                ocr=any(m.ocr for m in members),
                size=members[0].size,
            )
        )
    return out


# --- extraction ------------------------------------------------------------------------


def _page_glyphs(page) -> tuple[list[_Glyph], int, int]:
    """Glyphs of a page's text layer, and counts of all and of `(cid:N)` characters."""
    glyphs, total, cid = [], 0, 0
    for char in page.chars:
        text = char.get("text", "")
        if not text.strip():
            if text == " ":  # an explicit space is a word/label separator (browser prints)
                glyphs.append(_Glyph(" ", char["x0"], char["x1"], char["top"], char["bottom"], char.get("size") or 1.0))
            continue
        total += 1
        if _CID_RE.fullmatch(text):
            cid += 1
            continue
        size = char.get("size") or (char["bottom"] - char["top"])
        glyphs.append(_Glyph(text, char["x0"], char["x1"], char["top"], char["bottom"], size))
    return glyphs, total, cid


@dataclass
class _PageResult:
    lines: list[_RawLine]
    tables: list[_Table]
    chars: int = 0
    cid_chars: int = 0
    ocr_used: bool = False
    warnings: list[str] = field(default_factory=list)


def _ocr_page(path: Path, index: int, page_no: int, why: str, used: str) -> _PageResult:
    """The page read by OCR because of `why`; an OCR failure is a warning, never an abort."""
    try:
        lines = ocr_page_lines(path, index, page_no)
    except Exception as exc:  # OCR trouble must not abort the document
        return _PageResult([], [], warnings=[f"{why} and OCR failed ({type(exc).__name__}: {exc})"])
    note = "" if lines else " (nothing recognised)"
    return _PageResult(lines, [], ocr_used=True, warnings=[f"{why}{used}{note}"])


def _read_page(page, path: Path, index: int, ocr: bool) -> _PageResult:
    """One page → raw lines and tables; OCR when the page has no text layer but images."""
    page_no = index + 1
    page = page.dedupe_chars()
    glyphs, total, cid = _page_glyphs(page)
    if total == 0:
        if not page.images and not page.curves:
            # nothing raster or outlined to recognise: a blank or rules-only page
            return _PageResult([], [], warnings=[f"page {page_no}: blank (no text, no images)"])
        if not ocr:
            return _PageResult([], [], warnings=[f"page {page_no}: no text layer, skipped (OCR disabled)"])
        return _ocr_page(path, index, page_no, f"page {page_no}: no text layer", ", OCR used")
    if ocr and cid / total >= CID_GARBAGE_SHARE:
        # the text layer cannot be read (fonts without a ToUnicode map), the page image can
        garbage = f"page {page_no}: text layer is (cid:NNN) garbage ({cid} of {total} glyphs unmapped)"
        return _ocr_page(path, index, page_no, garbage, "; OCR used instead")
    warnings = []
    if cid:
        warnings.append(f"page {page_no}: {cid} of {total} glyphs have no Unicode mapping (cid) and were dropped")
    page_tables, boxes = _page_tables(page, page_no)
    glyphs = [glyph for glyph in glyphs if not _inside(glyph, boxes)]
    lines = _raw_lines(_reading_order(_cluster_lines(glyphs)), page_no, float(page.width), float(page.height), False)
    for table in page_tables:
        table.caption = table_caption(lines, table.top)
    return _PageResult(lines, page_tables, chars=total, cid_chars=cid, warnings=warnings)


def _continued_captions(tables: Sequence[_Table]) -> None:
    """A table without caption right after a captioned one on the previous page continues it."""
    for previous, table in zip(tables, tables[1:]):
        if not table.caption and previous.caption and table.page == previous.page + 1:
            table.caption = previous.caption.splitlines()[0].removesuffix("（续）") + "（续）"


def extract_content(path: Path, *, ocr: bool = True, progress: bool = False) -> PdfContent:
    """Read every page, clean and rejoin: the work behind `read_pdf` and `extract_lines`."""
    # pdfplumber (pdfminer) takes ~0.2 s to import: only when a PDF is read
    import pdfplumber

    path = Path(path)
    _check_header(path)
    results: list[_PageResult] = []
    try:
        with pdfplumber.open(path) as pdf:
            n_pages = len(pdf.pages)
            if n_pages == 0:
                raise IngestError(str(path), "empty PDF (no pages)")
            pages = pdf.pages
            if progress:
                from corpus.progress import progress_bar  # tqdm costs ~0.2 s to import: only where a bar is drawn

                pages = progress_bar(pages, desc=path.name, unit="page", total=n_pages)
            for index, page in enumerate(pages):
                results.append(_read_page(page, path, index, ocr))
    except IngestError:
        raise
    except Exception as exc:  # pdfminer raises many types for broken files
        raise IngestError(str(path), _open_error_reason(exc)) from None

    page_lines = [result.lines for result in results]
    tables = [table for result in results for table in result.tables]
    _continued_captions(tables)
    warnings = [warning for result in results for warning in result.warnings]
    total_chars = sum(result.chars for result in results)
    cid_chars = sum(result.cid_chars for result in results)
    ocr_pages = [number for number, result in enumerate(results, start=1) if result.ocr_used]
    if total_chars and cid_chars / total_chars >= CID_GARBAGE_SHARE:
        raise IngestError(
            str(path),
            f"text layer is (cid:NNN) garbage ({cid_chars} of {total_chars} characters have no "
            "Unicode mapping: the fonts lack a ToUnicode map); re-export the PDF or scan it",
        )

    running = find_running_lines(page_lines)
    flat = [line for lines in page_lines for line in lines if id(line) not in running]
    toc = find_toc(flat)
    body = [line for line in flat if id(line) not in toc]
    if not body and not tables:
        if ocr_pages:
            reason = "empty PDF: no text layer and OCR recognised nothing"
        elif not total_chars and not ocr and any("OCR disabled" in w for w in warnings):
            reason = "empty PDF: no text layer (OCR disabled)"
        else:
            reason = "empty PDF: no text on any page"
        raise IngestError(str(path), reason)
    joined = _join(body)
    stream_chars: list[str] = []
    char_pages: list[int] = []
    for line in body:
        compact = re.sub(r"\s+", "", line.text)
        stream_chars.append(compact)
        char_pages.extend([line.page] * len(compact))
    return PdfContent(
        lines=joined,
        raw_first_page=page_lines[0] if page_lines else [],
        tables=tables,
        pages=n_pages,
        warnings=warnings,
        stats={
            "running_lines_removed": len(running),
            "toc_lines_removed": len(toc),
            "tables": len(tables),
            "ocr_pages": ocr_pages,
        },
        char_pages=char_pages,
        char_stream="".join(stream_chars),
    )


def extract_lines(path: Path, *, ocr: bool = True, progress: bool = False) -> tuple[list[Line], int, list[str]]:
    """Clean, rejoined lines of a PDF (tables not included), its page count and warnings."""
    content = extract_content(path, ocr=ocr, progress=progress)
    lines = [Line(text=j.text, page=j.page, ocr=j.ocr) for j in content.lines]
    return lines, content.pages, content.warnings


# --- metadata ------------------------------------------------------------------------

_ARTICLE_RE = re.compile(rf"^第[{NUMERAL_CHARS}]+条(?:之[{SMALL_NUMERAL_CHARS}]+)?\s")
#: Article label without a separator (OCR drops the space): not followed by reference words.
_LOOSE_ARTICLE_RE = re.compile(
    rf"^第[{NUMERAL_CHARS}]+条(?:之[{SMALL_NUMERAL_CHARS}]+)?(?:\s|(?![的规、，；。第至款项中所之和或及与]))"
)
_DOC_NUMBER_RE = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[【（(]\s*\d{4}\s*[〕\]】）)]\s*\d+\s*号")
_HEADER_WORDS_RE = re.compile(r"^.{2,20}(文件|公报|通报)$")
_DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CN_DATE_RE = re.compile(rf"([{DIGIT_CHARS}]{{4}})年([{SMALL_NUMERAL_CHARS}]{{1,3}})月([{SMALL_NUMERAL_CHARS}]{{1,3}})日")


def find_dates(text: str) -> list[str]:
    """All complete dates in a text as ISO strings (Arabic or Chinese numerals)."""
    return [iso for iso, _ in dated_tails(text)]


def dated_tails(text: str, tail: int = 8) -> list[tuple[str, str]]:
    """(ISO date, the `tail` characters after it) for every complete date in `text`: what
    follows a date says whether it is an adoption or an entry into force (`versions.naming_date`)."""
    found = []
    for m in _DATE_RE.finditer(text):
        found.append((int(m[1]), int(m[2]), int(m[3]), text[m.end() : m.end() + tail]))
    for m in _CN_DATE_RE.finditer(text):
        found.append((chinese_to_int(m[1]), chinese_to_int(m[2]), chinese_to_int(m[3]), text[m.end() : m.end() + tail]))
    return [(f"{y:04d}-{mo:02d}-{d:02d}", after) for y, mo, d, after in found if 1 <= mo <= 12 and 1 <= d <= 31]


def looks_like_law(lines: Sequence[Line]) -> bool:
    """True if the text is organised in articles (第X条), so `structure_law` applies.

    Three labels followed by a space are enough. Labels glued to their text
    (`第一条根据…`) also occur in a budget's 主要职能 section, so without the space we
    need ten of them making up a quarter of the paragraphs.
    """
    strong = sum(1 for line in lines if _ARTICLE_RE.match(line.text))
    loose = sum(1 for line in lines if _LOOSE_ARTICLE_RE.match(line.text))
    return strong >= 3 or (loose >= 10 and loose >= 0.25 * len(lines))


#: Front-matter headings of a paper (摘要, Abstract, 关键词, 目录): never a title, and
#: what follows them on page 1 is body text, not a title either.
_FRONT_MATTER_RE = re.compile(r"^\s*(摘\s*要|内\s*容\s*(摘\s*要|提\s*要)|abstract|关\s*键\s*词|key\s*words|目\s*录)",
                              re.IGNORECASE)


def guess_title(first_page: Sequence[_RawLine]) -> str:
    """The title: the run of largest-font lines among the first lines of page 1.

    A red header (`国务院文件`) uses an even larger font, so lines that read like a
    header are skipped; doc numbers (`国发〔2025〕11号`) and dates are never titles.
    Only lines above a 摘要 / Abstract heading can be the title: a thesis whose page 1 is
    its abstract has no title there ("" — the caller falls back to the file name).
    """
    head = list(first_page[:10])
    front = next((i for i, line in enumerate(head) if _FRONT_MATTER_RE.match(line.text)), None)
    if front is not None:
        head = head[:front]
        if not head:
            return ""
    candidates = [
        line for line in head
        if not _HEADER_WORDS_RE.match(line.text)
        and not _DOC_NUMBER_RE.search(line.text)
        and not find_dates(line.text)
        and not _ARTICLE_RE.match(line.text)
        and not re.fullmatch(r"[\d\s]+", line.text)
    ]
    if not candidates:
        return head[0].text if head else ""
    largest = max(line.size for line in candidates)
    title_lines: list[_RawLine] = []
    for line in head:
        if line in candidates and line.size >= largest * 0.95:
            if title_lines and line.top - title_lines[-1].bottom > 2.5 * line.size:
                break
            title_lines.append(line)
        elif title_lines:
            break
    return join_texts([line.text for line in title_lines])


def guess_doc_type(title: str, preamble: str, has_articles: bool, issuer: str) -> str:
    """Map title/preamble wording to a DOC_TYPES value (shared rules in corpus.classify)."""
    return infer_doc_type(title, has_articles=has_articles, preamble=preamble, issuer=issuer)


def guess_issuer(title: str, preamble: str, lines: Sequence[_Joined]) -> str:
    """Issuing body where the document states it (preamble, 关于 title, 落款, 主管部门)."""
    match = re.search(r"全国人民代表大会(常务委员会)?", preamble)
    if match:
        return match.group(0)
    match = re.search(r"^(.{2,20}?)关于", title)
    if match:
        return match.group(1)
    for line in lines[:15]:
        match = re.search(r"(?:预算主管部门|主管部门|发布机关|制定机关)[：:]\s*(\S+)", line.text)
        if match:
            return match.group(1)
    match = re.match(r"^(.{2,30}?(?:局|委员会|办公室|政府|厅|部|院))(?=\d{4}年)", title)
    if match:
        return match.group(1)
    return ""


def _signature_date(lines: Sequence[_Joined]) -> str:
    for line in reversed(lines[-3:]):
        dates = find_dates(line.text)
        if dates and len(line.text) <= 16:
            return dates[-1]
    return ""


# --- units -----------------------------------------------------------------------------


def _structure(lines: list[Line], doc_id: str, has_articles: bool) -> tuple[list[Unit], str]:
    """Units of a law (articles, `structure_law`) or of a policy text (sections,
    `structure_policy`), and which structurer made them."""
    if has_articles:
        return list(structure_law(lines, doc_id)), "structure_law"
    return list(structure_policy(lines, doc_id)), "structure_policy"


#: A section longer than this is split into citable parts of about SPLIT_TARGET_CHARS
#: (whole paragraphs): a white paper's chapter runs over several pages, and a unit must
#: point the reader to the page that says it.
MAX_SECTION_CHARS = 1500
SPLIT_TARGET_CHARS = 600


def split_long_units(units: list[Unit], doc_id: str) -> list[Unit]:
    """Long non-article units → parts of whole paragraphs, numbered `一·2` (part 2 of 一);
    ids are renumbered per kind in order. Pages are set afterwards by `_fix_pages`."""
    out: list[Unit] = []
    for unit in units:
        if unit.kind == "article" or len(unit.text) <= MAX_SECTION_CHARS:
            out.append(unit)
            continue
        parts: list[list[str]] = [[]]
        for paragraph in unit.text.split("\n"):
            if parts[-1] and sum(map(len, parts[-1])) + len(paragraph) > SPLIT_TARGET_CHARS:
                parts.append([])
            parts[-1].append(paragraph)
        for k, part in enumerate(parts, start=1):
            number = unit.number if k == 1 else f"{unit.number}·{k}" if unit.number else f"·{k}"
            out.append(replace(unit, text="\n".join(part), number=number))
    counts: dict[str, int] = {}
    renumbered = []
    for unit in out:
        index = counts.get(unit.kind, 0)
        counts[unit.kind] = index + 1
        renumbered.append(replace(unit, unit_id=make_unit_id(doc_id, unit.kind, index)))
    return renumbered


def _fix_pages(units: list[Unit], stream: str, char_pages: Sequence[int]) -> list[Unit]:
    """Set page/page_end of each unit from where its text sits in the cleaned text.

    Rejoined lines keep only their first page, so a unit whose last paragraph runs onto
    the next page would otherwise lose its page_end. Units are located in order by their
    first and last characters; units that cannot be located keep what they had.
    """
    cursor, fixed = 0, []
    for unit in units:
        compact = re.sub(r"\s+", "", unit.text)
        if len(compact) < 2 or not char_pages:
            fixed.append(unit)
            continue
        head, tail = compact[:12], compact[-12:]
        start = stream.find(head, cursor)
        end = stream.find(tail, max(start, 0) + max(0, len(compact) - len(tail) - 40)) if start >= 0 else -1
        if start < 0 or end < 0:
            fixed.append(unit)
            continue
        end_index = min(end + len(tail) - 1, len(char_pages) - 1)
        page, page_end = char_pages[start], char_pages[end_index]
        fixed.append(replace(unit, page=page, page_end=page_end))
        cursor = end_index
    return fixed


def _table_units(tables: Sequence[_Table], units: list[Unit], doc_id: str) -> list[Unit]:
    """Insert table units after the last text unit that starts on or before their page."""
    merged = list(units)
    for number, table in enumerate(tables):
        text = "\n".join(([table.caption] if table.caption else []) + table.rows)
        position = 0
        path: tuple[str, ...] = ()
        for index, unit in enumerate(merged):
            if unit.kind != "table" and unit.page is not None and unit.page <= table.page:
                position, path = index + 1, unit.path
            elif unit.kind == "table" and unit.page is not None and unit.page <= table.page:
                position = index + 1
        merged.insert(
            position,
            Unit(
                unit_id=make_unit_id(doc_id, "table", number),
                doc_id=doc_id,
                kind="table",
                text=text,
                number=table.caption.splitlines()[0] if table.caption else "",
                path=path,
                page=table.page,
                page_end=table.page,
            ),
        )
    return merged


def read_pdf(
    path: Path,
    *,
    ocr: bool = True,
    progress: bool = False,
    source_path: str | None = None,
    doc_id: str | None = None,
) -> Document:
    """Read one PDF into a Document; raises IngestError with a clear reason if it can't.

    `source_path` (default: the path as given) is what the document records and what its
    doc_id is derived from; pass a collection-relative path for stable ids.
    """
    path = Path(path)
    started = time.perf_counter()
    content = extract_content(path, ocr=ocr, progress=progress)
    source = source_path or str(path)
    doc_id = doc_id or make_doc_id(source)
    lines = [Line(text=j.text, page=j.page, ocr=j.ocr) for j in content.lines]
    has_articles = looks_like_law(lines)
    first_article = next((i for i, line in enumerate(lines) if _LOOSE_ARTICLE_RE.match(line.text)), len(lines))
    preamble_lines = lines[: min(first_article, 12)] if has_articles else lines[:6]
    preamble = "".join(line.text for line in preamble_lines)
    title = guess_title(content.raw_first_page) or path.stem
    issuer = guess_issuer(title, preamble, content.lines)
    version_date = (naming_date(dated_tails(preamble)) if has_articles else "") or _signature_date(content.lines)
    doc_number = next((m.group(0) for line in lines[:8] if (m := _DOC_NUMBER_RE.search(line.text))), "")
    units, structurer = _structure(lines, doc_id, has_articles)
    units = _fix_pages(split_long_units(units, doc_id), content.char_stream, content.char_pages)
    units = _table_units(content.tables, units, doc_id)
    extra = dict(content.stats)
    extra["structurer"] = structurer
    extra["parse_seconds"] = round(time.perf_counter() - started, 3)
    if doc_number:
        extra["doc_number"] = re.sub(r"\s+", "", doc_number)
    doc_type = guess_doc_type(title, preamble, has_articles, issuer)
    return Document(
        doc_id=doc_id,
        title=title,
        doc_type=doc_type,
        source_path=source,
        source_format="pdf",
        units=units,
        issuer=issuer,
        region=congress_region(title, preamble) if doc_type == "地方性法规" else "",
        version_date=version_date,
        law_key=law_key(title),
        pages=content.pages,
        warnings=list(content.warnings),
        extra=extra,
    )
