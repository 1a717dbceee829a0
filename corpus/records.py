"""Record types that flow through the corpus layer: files → lines → units → documents.

Every reader produces the same `Document` made of `Unit`s, so the indexer and the
assistant never need to know whether text came from a PDF, Markdown, DOCX or plain
text. Records are plain dataclasses that round-trip through JSON (`to_dict` /
`from_dict`); nothing here is pickled.
"""
from __future__ import annotations

import gc
import hashlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

@lru_cache(maxsize=None)
def field_names(cls: type) -> frozenset[str]:
    """The field names of a dataclass, computed once per class. WHY: `from_dict` runs for
    every unit and passage an index load reads (136,000 rows for `default`), and
    `dataclasses.fields` per row was a fifth of a cold `fagui ask`."""
    return frozenset(f.name for f in fields(cls))


@contextmanager
def paused_gc():
    """Cyclic garbage collection paused while a collection's records are read and built.

    WHY: opening `default` creates about a million dicts, strings and record instances,
    none of them garbage, and the collector kept rescanning them (every 700 allocations,
    in ever larger generations): 1.1 of 5.5 s of a cold `fagui ask`. Reference counting
    still frees whatever is dropped meanwhile; the collector resumes afterwards (it stays
    off if it was off before)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """A copy of `data` without keys that are not fields of `cls` (rows written by a newer
    version may carry more). The common case, nothing to drop, is one C-level superset
    test and a dict copy instead of a Python loop over every key of 136,000 rows."""
    known = field_names(cls)
    if known.issuperset(data):
        return dict(data)
    return {k: v for k, v in data.items() if k in known}


#: Closed vocabulary of document types (issue 2, "Metadata").
DOC_TYPES = (
    "法律",
    "行政法规",
    "司法解释",
    "部门规章",
    "地方性法规",
    "规范性文件",
    "规划",
    "学术文献",
    "案例",
    "效力待确认",  # reads like a statute, but nothing in it shows who enacted it (corpus.classify)
)

#: Unit kinds. Laws yield `article`s; policy documents `section`s; papers the rest.
UNIT_KINDS = (
    "article",  # one 条 of a law / regulation / interpretation
    "preamble",  # text before the first article or section (序言, 说明)
    "section",  # a numbered section of a policy document (一、 / （一） / 1．)
    "title",  # a paper's title block
    "abstract",  # a paper's abstract / keywords
    "paragraph",  # a body paragraph of a paper or an unstructured text
    "footnote",  # a footnote separated from the body
    "reference",  # one entry of a reference list
    "table",  # a table rendered as `cell | cell` rows
)

STATUSES = ("current", "superseded", "duplicate")


@dataclass(frozen=True)
class Line:
    """One cleaned line of source text with the page it came from.

    Readers emit lines; structurers (`corpus.structure`) turn them into units. `page`
    is 1-based for paged sources and None for unpaged ones; `ocr` marks text that was
    recognised from an image rather than read from a text layer. `heading_level` is
    set only by sources with explicit headings (Markdown `#` depth).
    """

    text: str
    page: int | None = None
    ocr: bool = False
    heading_level: int | None = None


@dataclass(frozen=True)
class Unit:
    """The smallest citable piece of a document: an article, a section, a paragraph.

    `number` is the label as printed (`第一千二百六十条`, `第二十条之一`, `（三）`);
    `ordinal` its numeric value when it has one (1260; 之一 keeps the base number and
    puts the suffix in `number`). `path` is the heading path above the unit
    (编 / 分编 / 章 / 节, or policy headings). `page`/`page_end` are 1-based pages.
    """

    unit_id: str
    doc_id: str
    kind: str
    text: str
    number: str = ""
    ordinal: int | None = None
    path: tuple[str, ...] = ()
    page: int | None = None
    page_end: int | None = None
    ocr: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = list(self.path)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Unit":
        values = known_fields(cls, data)
        values["path"] = tuple(values.get("path", ()))
        return cls(**values)


@dataclass
class Document:
    """A whole source document with its metadata and its units.

    `law_key` groups versions of the same instrument (normalised title); `status` is
    `current` for the latest version of a group, `superseded` for older ones and
    `duplicate` when the same version arrived twice (e.g. as PDF and as Markdown) —
    `duplicate_of` then names the document that is searched instead. `repealed_by`: an
    instrument another one repealed (`corpus.versions.apply_repeals`) is `superseded`
    and this names the article that repealed it (`《促进个体工商户发展条例》第三十九条`).
    """

    doc_id: str
    title: str
    doc_type: str
    source_path: str
    source_format: str  # markdown | pdf | text | docx | scholarship
    units: list[Unit] = field(default_factory=list)
    issuer: str = ""
    version_date: str = ""  # ISO yyyy-mm-dd, or "" when unknown
    region: str = ""
    part: str = ""  # sub-title line, e.g. a 民法典 book
    law_key: str = ""
    status: str = "current"
    duplicate_of: str = ""
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    repealed_by: str = ""

    @property
    def content_hash(self) -> str:
        """Hash of the units' text and numbering: changes iff the searchable content does."""
        digest = hashlib.sha256()
        for unit in self.units:
            digest.update(f"{unit.kind}\x1f{unit.number}\x1f{unit.text}\x1e".encode("utf-8"))
        return digest.hexdigest()[:16]

    def articles(self) -> list[Unit]:
        return [u for u in self.units if u.kind == "article"]

    def to_dict(self, with_units: bool = True) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "units"}
        data["warnings"] = list(self.warnings)
        if with_units:
            data["units"] = [u.to_dict() for u in self.units]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Document":
        values = known_fields(cls, data)
        units = values.pop("units", None) or []
        doc = cls(**values)
        doc.units = [Unit.from_dict(u) for u in units]
        return doc

    def with_units(self, units: list[Unit]) -> "Document":
        return replace(self, units=list(units))


class IngestError(Exception):
    """A file that cannot be turned into a document. The message names file and reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class FileReport:
    """What ingesting one file produced, for `fagui ingest` output (text or JSON)."""

    path: str
    ok: bool
    doc_type: str = ""
    title: str = ""
    units: int = 0
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    doc_id: str = ""
    status: str = ""  # current / superseded / duplicate, among the batch or the collection it joined
    duplicate_of: str = ""  # the source path of the copy searched instead (status duplicate)
    repealed_by: str = ""  # status superseded because another instrument repealed it: the article

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_doc_id(source_path: str) -> str:
    """Stable id from the source path (relative to the collection) — same file, same id."""
    return hashlib.sha1(source_path.encode("utf-8")).hexdigest()[:10]


def make_unit_id(doc_id: str, kind: str, index: int) -> str:
    """Unit ids are position-based within a document: `<doc_id>:<kind>:<n>`."""
    return f"{doc_id}:{kind}:{index}"
