"""A PDF page as an image with one unit's region marked (the app's source view).

pdfplumber gives every character with its box; the unit's text is found in the page's
character stream (both NFKC-folded and without whitespace, because the reader joins
wrapped lines, folds Kangxi radicals and removes digit/CJK spacing), and the matched
characters are merged into one box per line. pypdfium2 renders the page; the boxes
are drawn on it as translucent rectangles.
"""
from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

PROBE = 12  # characters of the unit's start/end used to find it on the page


@dataclass(frozen=True)
class Box:
    x0: float
    top: float
    x1: float
    bottom: float


def _fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


def _page_stream(page) -> tuple[str, list[dict]]:
    """The page's characters as one folded string plus the char record of each position."""
    chars, out = [], []
    for char in page.chars:
        for folded in _fold(char.get("text", "")):
            out.append(folded)
            chars.append(char)
    return "".join(out), chars


def _find(stream: str, needle: str, start: int = 0) -> int:
    """First position of the longest usable prefix of `needle` (shorter probes tolerate
    a char the reader changed a little further in)."""
    for size in (PROBE, 8, 5):
        probe = needle[:size]
        if len(probe) >= min(size, len(needle)) and probe:
            found = stream.find(probe, start)
            if found >= 0:
                return found
    return -1


def unit_spans(stream: str, text: str, number: str, first_page: bool) -> tuple[int, int] | None:
    """[start, end) of the unit inside a page stream, or None when it is not there.

    On the unit's first page the region starts at its text (moved back over the
    article number printed before it); on a continuation page it starts at the top
    and runs to where the unit's last characters are found.
    """
    body = _fold(text)
    if not body:
        return None
    if first_page:
        body_start = _find(stream, body)
        if body_start < 0:
            return None
        start, label = body_start, _fold(number)
        if label and stream[max(0, body_start - len(label) - 1) : body_start].find(label) >= 0:
            start = stream.rfind(label, 0, body_start)
        return start, min(len(stream), body_start + len(body))
    tail = body[-PROBE:]
    end = stream.find(tail)
    if end < 0:
        return None
    return 0, end + len(tail)


def line_boxes(chars: list[dict], tolerance: float = 3.0) -> list[Box]:
    """Merge character boxes into one box per text line (chars sharing a baseline)."""
    lines: list[list[dict]] = []
    for char in sorted(chars, key=lambda c: (round(c["top"]), c["x0"])):
        if lines and abs(lines[-1][0]["top"] - char["top"]) <= tolerance:
            lines[-1].append(char)
        else:
            lines.append([char])
    return [
        Box(min(c["x0"] for c in line), min(c["top"] for c in line), max(c["x1"] for c in line), max(c["bottom"] for c in line))
        for line in lines
    ]


def unit_boxes(pdf_path: Path, page_number: int, text: str, number: str, first_page: bool) -> list[Box]:
    """Boxes (PDF points, top-left origin) covering the unit on a 1-based page."""
    # pdfplumber (pdfminer) only when a page of a PDF is shown
    import pdfplumber

    with pdfplumber.open(pdf_path) as pdf:
        if not 1 <= page_number <= len(pdf.pages):
            return []
        page = pdf.pages[page_number - 1]
        stream, chars = _page_stream(page)
        span = unit_spans(stream, text, number, first_page)
        if span is None:
            return []
        offset_x, offset_y = float(page.bbox[0]), float(page.bbox[1])
        boxes = line_boxes(chars[span[0] : span[1]])
        return [Box(b.x0 - offset_x, b.top - offset_y, b.x1 - offset_x, b.bottom - offset_y) for b in boxes]


def page_count(pdf_path: Path) -> int:
    # pypdfium2 (~0.4 s to import) only when a page of a PDF is shown
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        return len(pdf)
    finally:
        pdf.close()


def render_page(pdf_path: Path, page_number: int, boxes: list[Box], scale: float = 1.6) -> bytes:
    """PNG bytes of a 1-based page with `boxes` drawn as translucent yellow marks."""
    # pypdfium2 (~0.4 s to import) only when a page of a PDF is shown
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        if not 1 <= page_number <= len(pdf):
            raise ValueError(f"{pdf_path.name}: no page {page_number} (the file has {len(pdf)} pages)")
        image = pdf[page_number - 1].render(scale=scale).to_pil().convert("RGBA")
    finally:
        pdf.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    pad = 2 * scale
    for box in boxes:
        rect = (box.x0 * scale - pad, box.top * scale - pad, box.x1 * scale + pad, box.bottom * scale + pad)
        draw.rectangle(rect, fill=(255, 214, 10, 90), outline=(191, 135, 0, 255), width=2)
    buffer = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
