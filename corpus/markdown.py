"""Reader for the LawRefBook Markdown collection (`corpus/lawrefbook`), and 民法典 merging.

File format (one instrument per file):

    # <title>
    # <part>                      (optional: a 民法典 book)
    2021年6月10日 第十三届全国人民代表大会常务委员会第二十九次会议通过
    2021年1月1日 施行              (dated event lines, sometimes wrapped)
    <!-- INFO END -->
    ## 第一章 总则                 (#-headings for 编/分编/章/节)
    第一条 …                       (one article per line; 款/项 on the following lines)

Metadata comes from three places, most reliable first: the file name
(`行政复议法(2023-09-01).md` → version date), the folder (`行政法规/` → doc type,
`DLC/上海地方法规/…` → 地方性法规 of 上海市) and the header events (issuer, and the
version date when the name has none). `_index.md` files are folder indexes, not
documents: `is_document` says so and `read_lawrefbook` refuses them.

Laws go through `corpus.structure.structure_law`; cases (案例) and texts without
articles get section/paragraph units (`corpus.structure.block_units`).
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from corpus.classify import infer_doc_type
from corpus.normalize import fold_chars
from corpus.numerals import SMALL_NUMERAL_CHARS
from corpus.records import Document, IngestError, Line, Unit, make_doc_id, make_unit_id
from corpus.structure import block_units, structure_law
from corpus.versions import law_key

#: Only these names are read as (LawRefBook) Markdown; the content never decides it.
MARKDOWN_SUFFIXES = {".md", ".markdown"}
INFO_END = "<!-- INFO END -->"
INDEX_FILE = "_index.md"

#: Top folders whose documents are national laws (法律) adopted by the NPC or its
#: Standing Committee (including 条例 such as 外交特权与豁免条例 adopted as laws).
LAW_FOLDERS = frozenset(
    {"宪法", "宪法相关法", "民法商法", "民法典", "刑法", "行政法", "经济法", "社会法", "诉讼与非诉讼程序法"}
)
_FOLDER_TYPES = {"行政法规": "行政法规", "司法解释": "司法解释", "部门规章": "部门规章", "案例": "案例"}
#: Province-level units that are not 省.
_REGION_NAMES = {
    "北京": "北京市", "上海": "上海市", "天津": "天津市", "重庆": "重庆市",
    "内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区",
    "宁夏": "宁夏回族自治区", "新疆": "新疆维吾尔自治区",
    "香港": "香港特别行政区", "澳门": "澳门特别行政区",
}
_DLC_FOLDER_RE = re.compile(r"^(?P<name>.+?)(?:地方法规|地方性法规)$")
_VERSION_IN_NAME_RE = re.compile(r"\((?P<date>\d{4}-\d{2}-\d{2})\)$")
_EVENT_DATE_RE = re.compile(r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
_NORMATIVE_NOTICE_RE = re.compile(r"(通知|意见|批复|复函|函|答复|公告|通告)$")
_NORMATIVE_TITLE_RE = re.compile(r"(标准|规定|办法|细则|规则|条例|通知|意见|决定|规范|批复)(（[^）]*）)?$")

_PEOPLES_CONGRESS_RE = re.compile(
    r"(?P<place>[\u4e00-\u9fff]{1,14}?(?:省|市|自治区|自治州|州|县|区))?(?:第?[" + SMALL_NUMERAL_CHARS + r"]+届)?"
    r"(?P<body>全国人民代表大会常务委员会|全国人民代表大会|人民代表大会常务委员会|人民代表大会)"
)
_BOOK_TITLE_RE = re.compile(r"《[^》]*》")
_EVENT_PREFIX_RE = re.compile(r"^(?:经|由|根据|依据|在)")
_STATE_COUNCIL_RE = re.compile(r"(?:中华人民共和国)?国务院(?:、(?:中华人民共和国)?中央军事委员会)?(?=令|公布|发布|批准|第\S*次常务会议)")
_COURT_RE = re.compile(r"最高人民法院审判委员会|最高人民检察院\S*?检察委员会")
_JUDICIAL_ISSUERS = ("最高人民法院、最高人民检察院", "最高人民检察院、最高人民法院", "最高人民法院", "最高人民检察院")

_BOLD_RE = re.compile(r"(\*\*|__)(?P<inner>.+?)\1")
_LINK_RE = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<url>[^)]*)\)")
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->")
_HTML_TAG_RE = re.compile(r"</?(?:br|p|span|div|sup|sub|u|b|i|strong|em)\b[^>]*>", re.I)
_TABLE_RULE_RE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
_HEADING_RE = re.compile(r"^(?P<marks>#{1,6})(?:\s+(?P<text>.*))?$")


@dataclass(frozen=True)
class HeaderEvent:
    """One dated line of the header (`2021年6月10日 …通过`); date ISO or "" when unparsable."""

    date: str
    text: str


def is_document(path: Path) -> bool:
    """True for Markdown files that hold an instrument (not `_index.md` folder indexes)."""
    return path.suffix.lower() in MARKDOWN_SUFFIXES and path.name != INDEX_FILE


def _relative_source(path: Path, root: Path | None) -> PurePosixPath:
    """Path relative to the collection root; without a root, to the nearest `lawrefbook` folder."""
    if root is not None:
        try:
            return PurePosixPath(path.resolve().relative_to(root.resolve()).as_posix())
        except ValueError as exc:
            raise IngestError(str(path), f"not inside the collection root {root}") from exc
    parts = path.resolve().parts
    if "lawrefbook" in parts:
        start = len(parts) - 1 - parts[::-1].index("lawrefbook")
        return PurePosixPath(*parts[start + 1 :])
    return PurePosixPath(path.name)


def read_lawrefbook(path: Path, root: Path | None = None) -> Document:
    """Read one LawRefBook Markdown file into a `Document` (units structured).

    `root` is the collection folder (`…/lawrefbook`); the path relative to it is the
    `source_path`, decides the doc type/region and seeds the doc_id. Raises IngestError
    for folder indexes, undecodable files and files without a `# title` line.
    """
    path = Path(path)
    if not is_document(path):
        raise IngestError(str(path), "not a LawRefBook document (folder index _index.md or not .md/.markdown)")
    rel = _relative_source(path, root)
    # The LawRefBook folder layout (行政法/…, DLC/…) decides type and region, wherever the
    # collection root is (data/ holds lawrefbook/ next to policy/ and pdfs/).
    layout = _relative_source(path, None)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise IngestError(str(path), f"cannot read file: {exc.strerror}") from exc

    header_lines, body_lines = _split_header(raw.splitlines())
    titles = [ln[2:].strip() for ln in header_lines if ln.startswith("# ")]
    if not titles or not titles[0]:
        raise IngestError(str(path), "no '# <title>' line at the top")
    title, part = titles[0], (titles[1] if len(titles) > 1 else "")
    events = parse_events([ln for ln in header_lines if not ln.startswith("#")])

    source_path = rel.as_posix()
    doc_id = make_doc_id(source_path)
    doc_type, region = classify(layout, title)
    version_date, version_from = _version_date(path.stem, events)
    lines = markdown_lines(body_lines)
    warnings: list[str] = []
    if doc_type == "案例":
        units = block_units(lines, doc_id)
    else:
        units = structure_law(lines, doc_id)
        if not any(u.kind == "article" for u in units):
            warnings.append("no 第X条 articles; split into sections/paragraphs")
    if not units:
        warnings.append("no text after the header")
    if not doc_type:
        has_articles = any(u.kind == "article" for u in units)
        preamble = " ".join(e.text for e in events)
        doc_type = infer_doc_type(title, has_articles=has_articles, preamble=preamble)
    if not version_date and doc_type != "案例":
        warnings.append("version date unknown (no date in file name or header)")

    issuer = derive_issuer(doc_type, title, events, layout)
    return Document(
        doc_id=doc_id,
        title=title,
        doc_type=doc_type,
        source_path=source_path,
        source_format="markdown",
        units=units,
        issuer=issuer,
        version_date=version_date,
        region=refine_region(region, issuer),
        part=part,
        law_key=law_key(title),
        warnings=warnings,
        extra={"events": [[e.date, e.text] for e in events], "version_from": version_from},
    )


_CITY_RE = re.compile(r"^(?P<city>[\u4e00-\u9fff]{2,6}?(?:市|自治州|州|盟))")


def refine_region(province: str, issuer: str) -> str:
    """Province from the folder plus the city when a city's congress issued the text.

    `深圳市人民代表大会常务委员会` under 广东 → `广东省深圳市`, so a filter on 广东省 still
    finds it and a filter on 深圳市 finds only it.
    """
    m = _CITY_RE.match(issuer)
    if not province or not m or m["city"] == province or province.startswith(m["city"]):
        return province
    return province + m["city"]


def _split_header(raw_lines: list[str]) -> tuple[list[str], list[str]]:
    """Header (title, part, events) and body. Without the INFO END marker the header is
    the leading run of `# ` title lines and dated lines."""
    for index, line in enumerate(raw_lines):
        if line.strip() == INFO_END:
            return [ln.strip() for ln in raw_lines[:index] if ln.strip()], raw_lines[index + 1 :]
    header: list[str] = []
    index = 0
    for index, line in enumerate(raw_lines):
        text = line.strip()
        if not text:
            continue
        if (text.startswith("# ") and len(header) < 2) or _EVENT_DATE_RE.match(text):
            header.append(text)
            continue
        break
    else:
        index = len(raw_lines)
    return header, raw_lines[index:]


def parse_events(lines: list[str]) -> list[HeaderEvent]:
    """Header event lines → dated events; undated lines continue the previous event
    (the source wraps long ones, even inside the date: `2014年9月26` / `日山东省…`)."""
    merged: list[str] = []
    for line in lines:
        text = line.replace("\xa0", " ").strip()
        if not text:
            continue
        if merged and not _EVENT_DATE_RE.match(text):
            merged[-1] += text
        else:
            merged.append(text)
    events = []
    for text in merged:
        m = _EVENT_DATE_RE.match(text)
        date = ""
        if m:
            y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
            if 1 <= mo <= 12 and 1 <= d <= 31:
                date = f"{y:04d}-{mo:02d}-{d:02d}"
            text = text[m.end() :].strip()
        events.append(HeaderEvent(date, text))
    return events


def _version_date(stem: str, events: list[HeaderEvent]) -> tuple[str, str]:
    """(ISO date, where it came from: "file name" | "header" | "")."""
    m = _VERSION_IN_NAME_RE.search(stem)
    if m:
        return m["date"], "file name"
    # A version is named by its adoption/amendment date (as the file names are), not by
    # the date it enters into force: `2021年1月1日 施行` must not outdate a PDF of the
    # same 民法典 text dated 2020-05-28.
    adopted = [e.date for e in events if e.date and "施行" not in e.text]
    dates = adopted or [e.date for e in events if e.date]
    return (max(dates), "header") if dates else ("", "")


def classify(rel: PurePosixPath, title: str) -> tuple[str, str]:
    """(doc_type, region) from the top folder, refined by the title where the folder is mixed.

    * 法律 folders → 法律; 行政法规 / 司法解释 / 案例 → themselves;
    * 部门规章 → 部门规章, except notices/opinions (`…的通知`) → 规范性文件;
    * DLC/<X>地方法规/… → 地方性法规, region X as a province-level name (上海 → 上海市);
    * 其他 → by title: court/procuratorate titles 司法解释, otherwise normative-sounding
      titles (标准, 规定, 办法 …) 规范性文件, the rest (guides, commentary) 学术文献;
    * files outside the LawRefBook layout (uploads) → "" here; the reader then applies
      corpus.classify.infer_doc_type to the title, header events and articles.
    """
    parts = rel.parts
    top = parts[0] if len(parts) > 1 else ""
    if top in LAW_FOLDERS:
        return "法律", ""
    if top == "部门规章":
        return ("规范性文件" if _NORMATIVE_NOTICE_RE.search(title) else "部门规章"), ""
    if top in _FOLDER_TYPES:
        return _FOLDER_TYPES[top], ""
    if top == "DLC":
        region = ""
        if len(parts) > 2:
            m = _DLC_FOLDER_RE.match(parts[1])
            name = m["name"] if m else parts[1]
            region = _REGION_NAMES.get(name, name if name.endswith(("省", "市", "自治区")) else name + "省")
        return "地方性法规", region
    if top != "其他":
        return "", ""  # outside the LawRefBook layout (an upload): decided from the content
    if title.startswith(_JUDICIAL_ISSUERS):
        return "司法解释", ""
    if _NORMATIVE_TITLE_RE.search(title):
        return "规范性文件", ""
    return "学术文献", ""


def derive_issuer(doc_type: str, title: str, events: list[HeaderEvent], rel: PurePosixPath) -> str:
    """Issuing body, from the first event that names one, else from title / folder / type.

    Events: `第十三届全国人民代表大会常务委员会…通过` → 全国人民代表大会常务委员会,
    `上海市第十五届人民代表大会常务委员会…` → 上海市人民代表大会常务委员会,
    `国务院令第356号公布` → 国务院, `最高人民法院审判委员会…` → 最高人民法院.
    Fallbacks: 司法解释 titles starting with the court/procuratorate, 行政法规 → 国务院,
    部门规章 → the ministry sub-folder (`部门规章/公安部/…`).
    """
    if doc_type in ("部门规章", "规范性文件") and len(rel.parts) > 2 and rel.parts[0] == "部门规章":
        return rel.parts[1]
    if doc_type == "司法解释":
        for issuer in _JUDICIAL_ISSUERS:
            if title.startswith(issuer):
                return "、".join(sorted(issuer.split("、"), key=_JUDICIAL_ISSUERS.index))
    for event in events:
        text = _BOOK_TITLE_RE.sub("", event.text)  # 《…监督法》 names no issuer
        m = _PEOPLES_CONGRESS_RE.search(text)
        if m and (m["body"].startswith("全国") or m["place"]):  # a bare 人民代表大会 names nobody
            place = "" if m["body"].startswith("全国") else _EVENT_PREFIX_RE.sub("", m["place"])
            return place + m["body"]
        m = _STATE_COUNCIL_RE.search(event.text)
        if m:
            return m.group(0).replace("中华人民共和国", "")
        m = _COURT_RE.search(event.text)
        if m:
            return "最高人民法院" if m.group(0).startswith("最高人民法院") else "最高人民检察院"
    if doc_type == "行政法规":
        return "国务院"
    return ""


def markdown_lines(body_lines: list[str]) -> list[Line]:
    """Body Markdown → cleaned `Line`s; `#` headings keep their depth in `heading_level`.

    Inline markup (bold, links, HTML tags/comments) is removed; table rows are
    normalised to `| cell | cell |` (rules `|---|` dropped). Blank lines are dropped (every source line is
    a paragraph already).

    Characters are folded like every other reader's (`corpus.normalize.fold_chars`): the
    collection has lines made only of a zero-width space (U+200B; 42 in 公司法, more in
    民事诉讼法), which `str.strip` keeps, so each became an empty `paragraph` unit or an
    invisible line inside an article; full-width digits (`１５日`) become ASCII so the time
    limits and numbers in them read like everywhere else.
    """
    lines: list[Line] = []
    for raw in body_lines:
        text = fold_chars(_strip_inline_markup(raw)).strip()
        if not text:
            continue
        heading = _HEADING_RE.match(text)
        if heading:
            lines.append(Line(text=(heading["text"] or "").strip(), heading_level=len(heading["marks"])))
            continue
        if _TABLE_RULE_RE.match(text):
            continue
        if text.startswith("|"):
            # keep the outer pipes: a row such as `| 第一百二十条之一 … | 罪名 |` must
            # never read as an article start; `block_units` turns runs of rows into tables
            text = "| " + " | ".join(cell.strip() for cell in text.strip().strip("|").split("|")) + " |"
        if text.startswith(">"):
            text = text.lstrip("> ").strip()
        if text:
            lines.append(Line(text=text))
    return lines


def _strip_inline_markup(text: str) -> str:
    text = _HTML_COMMENT_RE.sub("", text)
    text = _HTML_TAG_RE.sub("", text)
    text = _LINK_RE.sub(lambda m: m["text"] or m["url"], text)
    return _BOLD_RE.sub(lambda m: m["inner"], text)


# --------------------------------------------------------------------------- 民法典


def merge_parts(docs: list[Document]) -> list[Document]:
    """Merge book files of one code (民法典/总则.md, 合同编.md …) into ONE document.

    Documents with a `part` are grouped by (title, doc_type, region, folder, version date
    from the file name). Header-derived dates do not split a group: the books of one
    code carry slightly different event lists (婚姻家庭编 lacks the 施行 line), so the
    merged version_date is the latest of the parts'. Each group becomes a Document with
    that title, units of all books in article order, the book name as the first path
    element and fresh unit ids. Its source_path is
    `<common folder>/<title>` (doc_id derived from it) and `extra["parts"]` lists
    the book files. Other documents pass through unchanged; order: first occurrence.
    """
    groups: OrderedDict[tuple[str, ...], list[Document]] = OrderedDict()
    for position, doc in enumerate(docs):
        # whole documents get a key of their own, so the output keeps first-occurrence order
        if doc.part:
            named_date = doc.version_date if doc.extra.get("version_from") == "file name" else ""
            folder = PurePosixPath(doc.source_path).parent.as_posix()
            key: tuple[str, ...] = ("part", doc.title, doc.doc_type, doc.region, folder, named_date)
        else:
            key = ("doc", str(position))
        groups.setdefault(key, []).append(doc)
    return [_merge_group(members) if key[0] == "part" else members[0] for key, members in groups.items()]


def _first_ordinal(doc: Document) -> float:
    ordinals = [u.ordinal for u in doc.articles() if u.ordinal is not None]
    return min(ordinals) if ordinals else float("inf")


def _merge_group(parts: list[Document]) -> Document:
    parts = sorted(parts, key=lambda d: (_first_ordinal(d), d.source_path))
    first = parts[0]
    folders = {PurePosixPath(d.source_path).parent.as_posix() for d in parts}
    folder = sorted(folders)[0] if len(folders) == 1 else ""
    source_path = f"{folder}/{first.title}" if folder and folder != "." else first.title
    doc_id = make_doc_id(source_path)
    units: list[Unit] = []
    counts: dict[str, int] = {}
    for part in parts:
        for unit in part.units:
            index = counts.get(unit.kind, 0)
            counts[unit.kind] = index + 1
            units.append(
                Unit(
                    unit_id=make_unit_id(doc_id, unit.kind, index),
                    doc_id=doc_id,
                    kind=unit.kind,
                    text=unit.text,
                    number=unit.number,
                    ordinal=unit.ordinal,
                    path=(part.part, *unit.path),
                    page=unit.page,
                    page_end=unit.page_end,
                    ocr=unit.ocr,
                )
            )
    warnings = [w for d in parts for w in d.warnings]
    ordinals = [u.ordinal for u in units if u.kind == "article"]
    if ordinals != sorted(ordinals) or len(set(ordinals)) != len(ordinals):
        warnings.append("merged parts overlap or are out of article order")
    return Document(
        doc_id=doc_id,
        title=first.title,
        doc_type=first.doc_type,
        source_path=source_path,
        source_format=first.source_format,
        units=units,
        issuer=first.issuer,
        version_date=max(d.version_date for d in parts),
        region=first.region,
        part="",
        law_key=first.law_key or law_key(first.title),
        warnings=warnings,
        extra={**first.extra, "parts": [d.source_path for d in parts]},
    )
