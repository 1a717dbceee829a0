"""Units → passages: the context line and the windows that get indexed.

Each unit is indexed with a context line (document title, part, heading path,
article number) because an article alone often does not say which law it belongs
to ("第三条 本法适用于…").

Units longer than the model window are split into overlapping character windows.
Window size is counted in characters, not model tokens, on purpose: for the
BERT-Chinese WordPiece vocabularies used here (m3e, bge-zh, text2vec) every token
covers at least one non-space character, so `chars + 2 ([CLS]/[SEP]) <= max_seq_length`
guarantees nothing is truncated, and passages do not depend on a tokenizer — BM25 and
the dense index see the same windows, and loading an index needs no model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from indexer.records import Passage

#: Unit kinds that are not worth retrieving on their own.
SKIPPED_KINDS = frozenset({"reference"})


@dataclass(frozen=True)
class WindowSettings:
    """`max_chars`: the longest indexed text (context + window), model window minus
    [CLS]/[SEP]. `overlap_chars`: shared text between consecutive windows, so a
    sentence cut at a boundary is whole in one of them."""

    max_chars: int = 510
    overlap_chars: int = 64
    min_window_chars: int = 64


def context_line(doc, unit) -> str:
    """`<title> <part> <heading path> <article number>`, without repeating the number
    when the unit text already starts with it."""
    pieces = [doc.title]
    if doc.part:
        pieces.append(doc.part)
    pieces.extend(p for p in unit.path if p)
    if unit.number and not unit.text.lstrip().startswith(unit.number):
        pieces.append(unit.number)
    return " ".join(p.strip() for p in pieces if p and p.strip())


def split_windows(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans covering `text` with windows of at most `size`, overlapping by
    `overlap`; a window prefers to end just after a sentence end (。；\\n) in its last
    third so splits fall between sentences when possible."""
    if size <= 0:
        raise ValueError(f"window size must be positive, got {size}")
    overlap = max(0, min(overlap, size // 2))
    if len(text) <= size:
        return [(0, len(text))]
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = max(text.rfind(ch, start + (2 * size) // 3, end) for ch in "。；\n")
            if cut != -1:
                end = cut + 1
        spans.append((start, end))
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return spans


def unit_passages(doc, unit, settings: WindowSettings) -> list[Passage]:
    """All windows of one unit, each with the same context line and unit id."""
    context = context_line(doc, unit)
    text = unit.text.strip()
    room = max(settings.max_chars - len(context) - 1, settings.min_window_chars)
    spans = split_windows(text, room, settings.overlap_chars)
    return [
        Passage(
            passage_id=f"{unit.unit_id}#{i}",
            unit_id=unit.unit_id,
            doc_id=doc.doc_id,
            text=text[start:end],
            context=context,
            window=i,
            n_windows=len(spans),
            char_start=start,
            char_end=end,
            title=doc.title,
            number=unit.number,
            kind=unit.kind,
        )
        for i, (start, end) in enumerate(spans)
    ]


def make_passages(documents: Iterable, settings: WindowSettings | None = None) -> list[Passage]:
    """Passages of all units of all documents, in document then unit order."""
    settings = settings or WindowSettings()
    passages: list[Passage] = []
    for doc in documents:
        for unit in doc.units:
            if unit.kind in SKIPPED_KINDS or not unit.text.strip():
                continue
            passages.extend(unit_passages(doc, unit, settings))
    return passages
