"""Turn files into documents: format detection by content, one reader per format, and a
batch driver that never lets one bad file stop the others.

Readers live in their own modules (markdown, pdf, word, text, paper); this module only
decides which one to call, gives each document its identity (a stable id derived from
its path relative to the collection root) and reports per file.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from corpus.markdown import MARKDOWN_SUFFIXES, merge_parts, read_lawrefbook
from corpus.paper import read_paper
from corpus.pdf import read_pdf
from corpus.progress import progress_bar
from corpus.records import Document, FileReport, IngestError, make_doc_id
from corpus.text import read_text
from corpus.versions import apply_repeals, assign_status
from corpus.word import read_docx

#: File names that are never documents (folder indexes, sidecars, manifests).
SKIPPED_NAMES = {"_index.md", "MANIFEST.tsv", ".DS_Store"}
SKIPPED_SUFFIXES = (".meta.json",)
SUPPORTED_SUFFIXES = {".pdf", ".docx", ".md", ".markdown", ".txt", ".text"}

PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc, or a password-protected .docx


@dataclass
class IngestResult:
    """Documents read successfully plus one report per file, in input order."""

    documents: list[Document] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)

    @property
    def failed(self) -> list[FileReport]:
        return [r for r in self.reports if not r.ok]


def sniff_format(path: Path) -> str:
    """Decide the reader from the file's bytes (magic numbers), not from its name alone.

    Uploads arrive with arbitrary names, so a `.pdf` that is really HTML must be caught
    here with a clear message instead of failing deep inside pdfminer.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise IngestError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    if not head:
        raise IngestError(str(path), "empty file (0 bytes)")
    if head.startswith(PDF_MAGIC) or PDF_MAGIC in head[:1024]:
        return "pdf"
    if head.startswith(OLE_MAGIC):
        raise IngestError(
            str(path),
            "legacy Word (.doc) or password-protected Office file; save it as .docx without a password",
        )
    if head.startswith(ZIP_MAGIC):
        if _is_docx(path):
            return "docx"
        raise IngestError(str(path), "ZIP archive that is not a Word .docx document")
    if path.suffix.lower() in {".pdf", ".docx"}:
        raise IngestError(str(path), f"named {path.suffix} but the content is not a {path.suffix[1:].upper()} file")
    if b"\x00" in head:
        raise IngestError(str(path), "binary file of an unsupported type (expected PDF, DOCX, Markdown or text)")
    if path.with_name(path.stem + ".meta.json").exists():
        return "scholarship"  # raw-extracted paper text with its metadata sidecar
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        return "markdown"
    return "text"  # a .txt whose first line is `# title` is still plain text (the text reader drops the #)


def _is_docx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _reader_for(fmt: str) -> Callable[..., Document]:
    """The reader of a detected format (the PDF reader imports pdfplumber and the OCR
    engine itself, only when a PDF is read)."""
    return {"markdown": read_lawrefbook, "pdf": read_pdf, "docx": read_docx, "scholarship": read_paper}.get(fmt, read_text)


def relocate(doc: Document, source_path: str) -> Document:
    """Give a document its identity from its path relative to the collection root.

    The same file therefore keeps the same doc_id (and unit ids) on every machine,
    which the index relies on to avoid re-embedding unchanged documents.
    """
    doc_id = make_doc_id(source_path)
    if doc.doc_id == doc_id and doc.source_path == source_path:
        return doc
    old_prefix = f"{doc.doc_id}:"
    units = [
        replace(
            unit,
            doc_id=doc_id,
            unit_id=doc_id + ":" + unit.unit_id[len(old_prefix):]
            if unit.unit_id.startswith(old_prefix)
            else f"{doc_id}:{unit.unit_id}",
        )
        for unit in doc.units
    ]
    return replace(doc, doc_id=doc_id, source_path=source_path, units=units)


def read_document(path: Path, root: Path | None = None, *, ocr: bool = True, progress: bool = False) -> Document:
    """Read one file into a Document whose source_path is relative to `root` (if given)."""
    path = Path(path)
    fmt = sniff_format(path)
    reader = _reader_for(fmt)
    if fmt == "markdown":
        doc = reader(path, root)
    elif fmt == "pdf":
        doc = reader(path, ocr=ocr, progress=progress)
    else:
        doc = reader(path)
    rel = _relative(path, root)
    return relocate(doc, rel)


def _relative(path: Path, root: Path | None) -> str:
    if root is None:
        return str(path)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def iter_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories (recursively, sorted) into the files a reader can take."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                if candidate.is_file() and is_candidate(candidate):
                    found.append(candidate)
        else:
            found.append(path)
    return found


def is_candidate(path: Path) -> bool:
    """Files worth trying when a directory is walked (an explicit file is always tried)."""
    name = path.name
    if name in SKIPPED_NAMES or name.startswith(".") or name.endswith(SKIPPED_SUFFIXES):
        return False
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def report_for(doc: Document, path: Path) -> FileReport:
    return FileReport(
        path=str(path),
        ok=True,
        doc_type=doc.doc_type,
        title=doc.title,
        units=len(doc.units),
        pages=doc.pages,
        warnings=list(doc.warnings),
        doc_id=doc.doc_id,
        status=doc.status,
    )


def ingest_files(
    files: list[Path],
    root: Path | None = None,
    *,
    read: Callable[[Path], Document] | None = None,
    ocr: bool = True,
    progress: bool = False,
) -> IngestResult:
    """Read every file; a failure becomes a report line and the batch goes on.

    `read` lets a caller plug in a cached reader (see corpus.catalog). Unexpected
    exceptions are also contained per file — a user-facing batch must survive a
    reader bug on one odd file — but they are reported with their type so they are
    not mistaken for ordinary bad input.
    """
    result = IngestResult()
    reader = read or (lambda p: read_document(p, root, ocr=ocr))
    with progress_bar(files, desc="reading", unit="file", disable=not progress or len(files) < 2) as bar:
        for path in bar:  # `with`: an interrupted batch must not leave its bar on the status line
            bar.set_postfix_str(Path(path).name[-30:], refresh=False)
            try:
                doc = reader(Path(path))
            except IngestError as exc:
                result.reports.append(FileReport(path=str(path), ok=False, error=exc.reason))
                continue
            except Exception as exc:  # noqa: BLE001 - contain reader bugs per file, report them
                result.reports.append(
                    FileReport(path=str(path), ok=False, error=f"unexpected {type(exc).__name__}: {exc}")
                )
                continue
            result.documents.append(doc)
            result.reports.append(report_for(doc, path))
    return result


def finalize(documents: list[Document]) -> list[Document]:
    """Merge multi-file documents (民法典 books), assign version status across the set, then
    end the instruments another one repeals (`corpus.versions.apply_repeals`)."""
    return apply_repeals(assign_status(merge_parts(documents)))

