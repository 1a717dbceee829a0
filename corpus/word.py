"""DOCX reader: body paragraphs and tables in document order → lines → law or policy units.

python-docx exposes paragraphs and tables as separate lists, which would move every
table to the end; `Document.iter_inner_content()` walks the body XML in order instead,
so a table stays where it was (inside the article or section that introduces it).

Tables become one line per row with cells joined by a tab (the column marker that
`corpus.text.structure_policy` renders as `cell | cell`); for statutes the tab is
replaced by ` | ` because article text has no table units. python-docx returns a
horizontally merged cell once per grid column it spans, so consecutive repeats of the
same cell are dropped; a vertically merged cell is repeated in each row it spans, which
keeps every row readable on its own.

Heading styles (`Heading N`, `标题 N`, `Title`) are kept as `Line.heading_level`. The title
is the first Title/Heading/centred paragraph among the first few non-empty paragraphs,
else the core-properties title, else the first non-empty paragraph.

Broken input is reported, not raised from deep inside zipfile/lxml: a legacy `.doc` or a
password-protected file (both OLE compound files), a file that is not a ZIP archive, a
truncated/corrupt archive and a ZIP without `word/document.xml` each get their own
IngestError reason.

Bounded cost (issue 11, F3): a 53 KB file can hold 100,000 paragraphs and a 2 MB one a
member that unpacks to 2 GiB. Before python-docx parses anything, the ZIP directory is
checked (member count, declared uncompressed size — zipfile never inflates a member
beyond its declared size) and the paragraphs of `word/document.xml` are counted in a
stream; a deadline bounds the rest. Each limit has its own refusal naming the file.
Paragraph styles are resolved once per style id: python-docx looks the default style
up by scanning every style, which made a few thousand paragraphs take minutes.
"""
from __future__ import annotations

import re
import time
import zipfile
import zlib
from pathlib import Path

from corpus.classify import congress_region
from corpus.normalize import normalize_text
from corpus.records import Document, IngestError, Line, make_doc_id
from corpus.structure import structure_law
from corpus.text import has_articles, parse_date, preamble_text, resolve_doc_type, structure_policy
from corpus.versions import naming_date

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK"
#: How many leading non-empty paragraphs may hold the title.
TITLE_SEARCH_PARAGRAPHS = 5
HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
TITLE_STYLES = {"title", "标题"}
#: A dated enactment note right under a statute's title: `（2021年6月10日…通过）`.
ENACTMENT_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")

#: What one DOCX may cost. A Word file is a few dozen ZIP members; the longest statute
#: (民法典, 1,260 articles) has a few thousand paragraphs; images are stored compressed,
#: so unpacked size stays near the upload limit.
MAX_MEMBERS = 2000
MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
MAX_PARAGRAPHS = 50_000
MAX_READ_SECONDS = 60.0
_PARAGRAPH_TAG = re.compile(rb"<w:p[\s/>]")
_CHUNK = 1 << 20


def read_docx(path: Path) -> Document:
    """Read a .docx file into a Document (law articles if it has 第X条 lines, else sections)."""
    path = Path(path)
    check_docx_container(path)
    docx_document = _open_docx(path)
    lines, title = docx_lines(docx_document, path)
    doc_id = make_doc_id(str(path))
    statute = has_articles(lines)
    if statute:
        law_lines = [Line(text=ln.text.replace("\t", " | "), heading_level=ln.heading_level) for ln in lines]
        units = structure_law(law_lines, doc_id)
    else:
        units = structure_policy(lines, doc_id)
    preamble = preamble_text(lines)
    doc_type, warning = resolve_doc_type("", title, statute, preamble)
    return Document(
        doc_id=doc_id,
        title=title,
        doc_type=doc_type,
        source_path=str(path),
        source_format="docx",
        units=units,
        version_date=enactment_date(lines) if statute else "",
        region=congress_region(title, preamble) if doc_type == "地方性法规" else "",
        warnings=[warning] if warning else [],
        extra={"core_title": docx_document.core_properties.title or ""},
    )


def check_docx_container(path: Path) -> None:
    """Raise IngestError with a specific reason unless `path` is a readable DOCX package."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise IngestError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    if not head:
        raise IngestError(str(path), "empty file (0 bytes)")
    if head.startswith(OLE_MAGIC):
        raise IngestError(
            str(path),
            "OLE compound file, not a DOCX package: a password-protected (encrypted) Word file or a legacy .doc; "
            "remove the password / save as .docx",
        )
    if not head.startswith(ZIP_MAGIC):
        raise IngestError(str(path), "not a DOCX file: content is not a ZIP package")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "word/document.xml" not in names:
                raise IngestError(str(path), "ZIP archive without word/document.xml: not a Word document")
            check_docx_cost(archive, path)
            bad = archive.testzip()
            if bad is not None:
                raise IngestError(str(path), f"corrupt DOCX: damaged member {bad}")
    except zipfile.BadZipFile as exc:
        raise IngestError(str(path), f"corrupt or truncated DOCX (ZIP structure unreadable: {exc})") from exc
    except (EOFError, OSError, zipfile.LargeZipFile, zlib.error) as exc:
        raise IngestError(str(path), f"corrupt or truncated DOCX ({type(exc).__name__}: {exc})") from exc


def check_docx_cost(archive: zipfile.ZipFile, path: Path) -> None:
    """Refuse a package whose member count, unpacked size or paragraph count is beyond
    the limits, from the ZIP directory and one streamed pass over document.xml."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise IngestError(str(path), f"DOCX has {len(infos):,} ZIP members (limit {MAX_MEMBERS:,}): refused")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_UNCOMPRESSED_BYTES:
        biggest = max(infos, key=lambda info: info.file_size)
        raise IngestError(str(path), f"DOCX unpacks to {unpacked / 2**20:,.0f} MB (limit {MAX_UNCOMPRESSED_BYTES / 2**20:.0f} MB; "
                                     f"member {biggest.filename} alone {biggest.file_size / 2**20:,.0f} MB): refused")
    paragraphs = 0
    tail = b""
    with archive.open("word/document.xml") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            window = tail + chunk
            paragraphs += len(_PARAGRAPH_TAG.findall(window))
            # the last 5 bytes (one tag's length) are read again with the next chunk, so a
            # tag cut by the chunk boundary is counted then; one counted here is taken back
            tail = window[-5:]
            paragraphs -= len(_PARAGRAPH_TAG.findall(tail))
            if paragraphs > MAX_PARAGRAPHS:
                raise IngestError(str(path), f"DOCX has more than {MAX_PARAGRAPHS:,} paragraphs: refused")


def _open_docx(path: Path):
    """python-docx Document, with parse errors turned into IngestError."""
    # python-docx (lxml) only when a DOCX is read or written
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        return docx.Document(str(path))
    except PackageNotFoundError as exc:
        raise IngestError(str(path), f"not a Word document package ({exc})") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
        raise IngestError(str(path), f"corrupt DOCX ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # lxml.etree.XMLSyntaxError and friends: malformed XML parts
        if type(exc).__module__.startswith("lxml"):
            raise IngestError(str(path), f"corrupt DOCX: malformed XML ({exc})") from exc
        raise


def docx_lines(docx_document, path: Path) -> tuple[list[Line], str]:
    """(body lines without the title paragraph, title) in document order."""
    # python-docx (lxml) only when a DOCX is read or written
    from docx.table import Table

    lines: list[Line] = []
    candidates: list[tuple[int, bool]] = []  # (line index, looks like a title)
    styles: dict[str | None, tuple[str, object]] = {}
    deadline = time.monotonic() + MAX_READ_SECONDS
    for count, block in enumerate(docx_document.iter_inner_content()):
        if count % 256 == 0 and time.monotonic() > deadline:
            raise IngestError(str(path), f"DOCX took longer than {MAX_READ_SECONDS:.0f} s to read: refused")
        if isinstance(block, Table):
            lines.extend(table_lines(block))
            continue
        text = normalize_text(block.text)
        if not text:
            continue
        level, titled = paragraph_role(block, styles)
        if len(candidates) < TITLE_SEARCH_PARAGRAPHS:
            candidates.append((len(lines), titled or level is not None))
        lines.append(Line(text=text, heading_level=level))
    if not any(ln.text.strip() for ln in lines):
        raise IngestError(str(path), "DOCX contains no text")
    title_index = next((i for i, looks in candidates if looks), None)
    core_title = normalize_text(docx_document.core_properties.title or "")
    if title_index is not None:
        title = lines.pop(title_index).text
    elif core_title:
        title = core_title
    else:
        title_index = next(i for i, ln in enumerate(lines) if ln.text.strip())
        title = lines.pop(title_index).text
    return lines, title


def paragraph_role(paragraph, styles: dict | None = None) -> tuple[int | None, bool]:
    """(heading level from the style, whether it looks like a title: Title style or centred).

    `styles` caches (name, alignment) per style id across the paragraphs of a document.
    """
    # python-docx (lxml) only when a DOCX is read or written
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    styles = {} if styles is None else styles
    style_id = paragraph._p.style
    if style_id not in styles:
        styles[style_id] = _style_facts(paragraph)
    name, style_alignment = styles[style_id]
    match = HEADING_STYLE.match(name.strip())
    level = int(match.group(1)) if match else None
    alignment = paragraph.alignment
    if alignment is None:
        alignment = style_alignment
    centred = alignment == WD_ALIGN_PARAGRAPH.CENTER
    return level, name.strip().lower() in TITLE_STYLES or centred


def _style_facts(paragraph) -> tuple[str, object]:
    """(style name, style alignment) of a paragraph's style; ("", None) when it has none."""
    try:
        style = paragraph.style
    except (KeyError, ValueError):  # a style id missing from styles.xml
        return "", None
    if style is None:
        return "", None
    return style.name or "", style.paragraph_format.alignment


def table_lines(table) -> list[Line]:
    """One tab-joined line per row; horizontally merged cells appear once."""
    out: list[Line] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if previous is not None and cell._tc is previous:  # same merged cell again
                continue
            previous = cell._tc
            cells.append(normalize_text(" ".join(p.text for p in cell.paragraphs if p.text.strip())))
        if any(cells):
            out.append(Line(text="\t".join(cells)))
    return out


def enactment_date(lines: list[Line]) -> str:
    """The date naming the version in the enactment/amendment note before the first article
    (`versions.naming_date`: not the date it enters into force; "" if none)."""
    dated: list[tuple[str, str]] = []
    for line in lines[:6]:
        if line.text.lstrip().startswith("第"):
            break
        for m in ENACTMENT_DATE.finditer(line.text):
            dated.append((parse_date(m.group(0)), line.text[m.end() : m.end() + 8]))
    return naming_date(dated)
