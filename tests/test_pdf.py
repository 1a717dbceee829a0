"""Tests for corpus.pdf on the nine real shared PDFs and on generated broken/scanned files.

The shared PDFs are parsed once per session (module-scoped fixture; the 234-page Civil
Code takes ~6 s). Cleaning is checked with detectors written here independently of the
cleaning code: they look at pdfplumber's own line layout and at the units, never at
corpus.pdf internals.
"""
from __future__ import annotations

import csv
import functools
import difflib
import re
import sys
import time
from pathlib import Path

import pytest

from corpus.normalize import normalize_text
from corpus.pdf import extract_lines, is_degenerate_table, read_pdf, table_rows
from corpus.records import IngestError

SHARED = Path(__file__).resolve().parents[2] / "shared"
PDFS = SHARED / "pdfs"
LAWREFBOOK = SHARED / "corpus" / "lawrefbook"
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))

import make_pdf_fixtures as fixtures  # noqa: E402

pytestmark = pytest.mark.skipif(not PDFS.is_dir(), reason="shared PDFs not available")

LAW_PDFS = {
    # file → (article count, Markdown files of the same version)
    "01_law_data_security_law_2021.pdf": (55, ["行政法/数据安全法(2021-06-10).md"]),
    "02_law_personal_information_protection_law_2021.pdf": (74, ["*/个人信息保护法(2021-08-20).md"]),
    "03_law_cybersecurity_law_2016.pdf": (79, ["*/网络安全法(2016-11-07).md"]),
    "06_law_administrative_litigation_law_2017.pdf": (103, ["*/行政诉讼法(2017-06-27).md"]),
    "04_law_civil_code_2020.pdf": (1260, ["民法典/[!_]*.md"]),
}
#: Deviations that are in the PDF itself (checked against its text layer), not cleaning errors.
KNOWN_SOURCE_DEVIATIONS = {
    ("02_law_personal_information_protection_law_2021.pdf", 74): "PDF text lacks the final 。",
}


def manifest() -> dict[str, dict[str, str]]:
    with (PDFS / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return {row["filename"]: row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.fixture(scope="module")
def parsed() -> dict[str, tuple]:
    """Every shared PDF parsed once: name → (Document, seconds)."""
    out = {}
    for path in sorted(PDFS.glob("*.pdf")):
        started = time.perf_counter()
        doc = read_pdf(path)
        out[path.name] = (doc, time.perf_counter() - started)
    return out


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", normalize_text(text))


# --- all nine shared PDFs ----------------------------------------------------------------


def test_all_shared_pdfs_ingest(parsed):
    pages = {name: int(row["pages"]) for name, row in manifest().items()}
    assert set(parsed) == set(pages)
    for name, (doc, seconds) in parsed.items():
        assert doc.units, name
        assert doc.pages == pages[name], name
        assert doc.source_format == "pdf"
        assert all(unit.text.strip() for unit in doc.units), name
        assert all(1 <= unit.page <= doc.pages for unit in doc.units), name
        assert all(unit.page_end is None or unit.page <= unit.page_end <= doc.pages for unit in doc.units), name
        print(f"{name}: pages={doc.pages} units={len(doc.units)} seconds={seconds:.2f} warnings={doc.warnings}")


@pytest.mark.parametrize("name", sorted(LAW_PDFS))
def test_article_counts(parsed, name):
    doc, _ = parsed[name]
    ordinals = [unit.ordinal for unit in doc.articles()]
    expected = LAW_PDFS[name][0]
    assert len(ordinals) == expected
    assert ordinals == list(range(1, expected + 1))


def _markdown_articles(patterns: list[str]) -> dict[int, str]:
    from corpus.markdown import read_lawrefbook

    articles: dict[int, str] = {}
    for pattern in patterns:
        paths = sorted(LAWREFBOOK.glob(pattern))
        assert paths, pattern
        for path in paths:
            for unit in read_lawrefbook(path, LAWREFBOOK).articles():
                articles[unit.ordinal] = unit.text
    return articles


@pytest.mark.parametrize("name", sorted(LAW_PDFS))
def test_every_article_matches_markdown(parsed, name):
    doc, _ = parsed[name]
    markdown = _markdown_articles(LAW_PDFS[name][1])
    assert len(markdown) == LAW_PDFS[name][0]
    failures = []
    for unit in doc.articles():
        ratio = difflib.SequenceMatcher(None, _compact(unit.text), _compact(markdown[unit.ordinal]), autojunk=False).ratio()
        floor = 0.95 if (name, unit.ordinal) in KNOWN_SOURCE_DEVIATIONS else 0.98
        if ratio < floor:
            failures.append((unit.number, round(ratio, 3), unit.text[:60]))
    assert not failures, failures


def test_known_deviation_is_in_the_source():
    import pdfplumber

    with pdfplumber.open(PDFS / "02_law_personal_information_protection_law_2021.pdf") as pdf:
        last = pdf.pages[-1].extract_text()
    assert last.rstrip().endswith("第七十四条 本法自2021年11月1日起施行")


# --- independent cleaning detectors ---------------------------------------------------------

_PAGE_NUMBER_LINE = re.compile(r"^[\s\-－—–~～]*\d{1,4}[\s\-－—–~～]*$|^第\s*\d+\s*页")
_LAW_HEADING_LINE = re.compile(r"^第[零〇一二三四五六七八九十百千]+(?:编|分编|章|节)\s")
_LEADERS = re.compile(r"[.·…．]{4,}")


@functools.lru_cache(maxsize=None)
def margin_lines(path: Path) -> tuple[set[str], int]:
    """Digit-masked lines in the top/bottom 10 % that recur on ≥ 3 pages (pdfplumber's layout)."""
    import pdfplumber

    counts: dict[str, int] = {}
    with pdfplumber.open(path) as pdf:
        n_pages = len(pdf.pages)
        for page in pdf.pages:
            keys = set()
            for line in page.extract_text_lines():
                if line["top"] < 0.1 * page.height or line["bottom"] > 0.9 * page.height:
                    keys.add(re.sub(r"\d+", "#", re.sub(r"\s+", "", line["text"])))
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
    return {key for key, count in counts.items() if count >= 3}, n_pages


def test_detector_finds_the_known_footers():
    running, _ = margin_lines(PDFS / "07_law_national_development_planning_law_2026_flk.pdf")
    assert "－#－" in running
    running, _ = margin_lines(PDFS / "04_law_civil_code_2020.pdf")
    assert "#" in running


@pytest.mark.parametrize("name", sorted(p.name for p in PDFS.glob("*.pdf")))
def test_no_page_numbers_headers_footers_or_toc_in_units(parsed, name):
    doc, _ = parsed[name]
    running, _ = margin_lines(PDFS / name)
    text_units = [unit for unit in doc.units if unit.kind != "table"]
    for unit in text_units:
        for line in unit.text.splitlines():
            masked = re.sub(r"\d+", "#", re.sub(r"\s+", "", line))
            assert not _PAGE_NUMBER_LINE.match(line), (unit.unit_id, line)
            assert masked not in running, (unit.unit_id, line)
            assert not re.fullmatch(r"目\s*[录次]", line.strip()), (unit.unit_id, line)
            assert not _LEADERS.search(line), (unit.unit_id, line)
    if doc.articles():
        # TOC entries would surface as chapter lines inside the preamble or an article
        for unit in text_units:
            bad = [line for line in unit.text.splitlines() if _LAW_HEADING_LINE.match(line)]
            assert not bad, (unit.unit_id, bad)
    else:
        headings = [
            line
            for unit in text_units
            for line in unit.text.splitlines()
            if re.match(r"^(第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+、)", line) and len(line) <= 30
        ]
        duplicated = {line for line in headings if headings.count(line) > 1}
        assert not duplicated, duplicated


# --- pages --------------------------------------------------------------------------------


def _page_texts(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return [_compact(page.extract_text() or "") for page in pdf.pages]


@pytest.mark.parametrize(
    "name",
    ["01_law_data_security_law_2021.pdf", "03_law_cybersecurity_law_2016.pdf", "07_law_national_development_planning_law_2026_flk.pdf"],
)
def test_article_pages_match_the_pdf(parsed, name):
    doc, _ = parsed[name]
    pages = _page_texts(PDFS / name)
    spanning = 0
    for unit in doc.articles():
        body = _compact(unit.text)
        head, tail = body[:6], body[-6:]
        assert head in pages[unit.page - 1], (unit.number, unit.page, head)
        end = unit.page_end or unit.page
        assert tail in pages[end - 1], (unit.number, end, tail)
        spanning += end > unit.page
    assert spanning >= 1


def test_article_across_page_break_is_one_paragraph(parsed):
    doc, _ = parsed["01_law_data_security_law_2021.pdf"]
    article = next(unit for unit in doc.articles() if unit.ordinal == 6)
    assert "本行业、本领域数据安全监管职责" in article.text
    assert (article.page, article.page_end) == (1, 2)


def test_wrapped_lines_are_rejoined(parsed):
    doc, _ = parsed["06_law_administrative_litigation_law_2017.pdf"]
    preamble = next(unit for unit in doc.units if unit.kind == "preamble")
    assert "常务委员会第十一次会议" in preamble.text
    article = next(unit for unit in doc.articles() if unit.ordinal == 9)
    assert "文字进行审理和发布法律文书。" in article.text


# --- tables ---------------------------------------------------------------------------------


def test_budget_tables_become_rows(parsed):
    for name in ["12_gov_budget_putuo_finance_bureau_final_accounts_2024.pdf", "13_gov_budget_putuo_gov_office_budget_2025.pdf"]:
        doc, _ = parsed[name]
        tables = [unit for unit in doc.units if unit.kind == "table"]
        assert len(tables) >= 10, name
        assert all(" | " in unit.text for unit in tables)
    doc, _ = parsed["13_gov_budget_putuo_gov_office_budget_2025.pdf"]
    rows = [line for unit in doc.units if unit.kind == "table" for line in unit.text.splitlines()]
    assert "201 | 03 | 01 | 行政运行 | 12,029,501.84 | 12,029,501.84 |  |  |" in rows


@pytest.mark.parametrize(
    "name", ["03_law_cybersecurity_law_2016.pdf", "10_policy_state_council_ai_plus_opinion_2025.pdf"]
)
def test_per_line_rectangles_are_not_tables(parsed, name):
    doc, _ = parsed[name]
    assert not [unit for unit in doc.units if unit.kind == "table"]


def test_degenerate_table_rules():
    assert is_degenerate_table([["第一条 为了规范"], ["第二条 本法"]])
    assert is_degenerate_table([["整行文字", None], ["另一行", ""]])
    assert not is_degenerate_table([["项目", "决算数"], ["收入", "2,940.05"]])
    assert table_rows([["项目", None, "决算\n数"], ["", "", ""], ["收入", "1", ""]]) == ["项目 | 决算数", "收入 | 1 |"]


# --- metadata -------------------------------------------------------------------------------


def test_metadata(parsed):
    expected = {
        "01_law_data_security_law_2021.pdf": ("中华人民共和国数据安全法", "法律", "2021-06-10"),
        "03_law_cybersecurity_law_2016.pdf": ("中华人民共和国网络安全法", "法律", "2016-11-07"),
        "04_law_civil_code_2020.pdf": ("中华人民共和国民法典", "法律", "2020-05-28"),
        "06_law_administrative_litigation_law_2017.pdf": ("中华人民共和国行政诉讼法", "法律", "2017-06-27"),
        "07_law_national_development_planning_law_2026_flk.pdf": ("中华人民共和国国家发展规划法", "法律", "2026-03-12"),
        "10_policy_state_council_ai_plus_opinion_2025.pdf": ("国务院关于深入实施“人工智能+”行动的意见", "规范性文件", "2025-08-21"),
    }
    for name, (title, doc_type, date) in expected.items():
        doc, _ = parsed[name]
        assert (doc.title, doc.doc_type, doc.version_date) == (title, doc_type, date), name
    policy, _ = parsed["10_policy_state_council_ai_plus_opinion_2025.pdf"]
    assert policy.issuer == "国务院"
    assert policy.extra["doc_number"] == "国发〔2025〕11号"
    law, _ = parsed["01_law_data_security_law_2021.pdf"]
    assert law.issuer == "全国人民代表大会常务委员会"
    budget, _ = parsed["13_gov_budget_putuo_gov_office_budget_2025.pdf"]
    assert budget.issuer == "上海市普陀区人民政府办公室"
    assert budget.doc_type == "规范性文件"


def test_no_spaces_left_between_cjk(parsed):
    doc, _ = parsed["04_law_civil_code_2020.pdf"]
    preamble = next(unit for unit in doc.units if unit.kind == "preamble")
    assert "2020年5月28日" in preamble.text
    assert not any(re.search(r"[\u4e00-\u9fff] +[\u4e00-\u9fff0-9]", unit.text) for unit in doc.articles())


# --- generated fixtures -----------------------------------------------------------------------


def test_scanned_pdf_is_ocred(tmp_path):
    path = fixtures.make_scanned(tmp_path)
    doc = read_pdf(path)
    assert "page 1: no text layer, OCR used" in doc.warnings
    assert all(unit.ocr for unit in doc.units)
    text = "\n".join(unit.text for unit in doc.units)
    assert "数据安全" in text and "常务委员会" in text
    assert doc.title == "中华人民共和国数据安全法"
    assert [unit.ordinal for unit in doc.articles()][:5] == [1, 2, 3, 4, 5]
    assert doc.pages == 1 and doc.extra["ocr_pages"] == [1]


def test_scan_tiled_into_drifting_strips_is_ocred(tmp_path):
    """Issue 11: such a book crashed in the layout step (`min() arg is an empty sequence`)."""
    doc = read_pdf(fixtures.make_tiled_scan(tmp_path))
    assert doc.extra["ocr_pages"] == [1, 2, 3] and doc.pages == 3
    assert all(f"page {n}: no text layer, OCR used" in doc.warnings for n in (1, 2, 3))
    assert len(doc.units) >= 10 and {unit.page for unit in doc.units} == {1, 2, 3}


def test_constitution_preamble_and_wrapped_section_heading(tmp_path):
    """Issue 11: 序言 became a parent of every article, and the second line of a wrapped
    节 heading became a unit of its own."""
    doc = read_pdf(fixtures.make_constitution(tmp_path))
    articles = doc.articles()
    assert [a.number for a in articles] == ["第一条", "第二条", "第三条", "第四条"]
    assert all("序言" not in a.path for a in articles)
    assert articles[0].path == ("第一章 总纲",)
    assert articles[2].path == ("第二章 国家机构", "第一节 全国测试人民代表大会及其常务委员会的组织和职权")
    assert not any(u.kind == "paragraph" for u in doc.units)
    assert "测试国家是历史悠久的国家" in doc.units[0].text and doc.units[0].kind == "preamble"


def test_thesis_starting_with_its_abstract_is_not_titled_by_it(tmp_path):
    """Issue 11: such a thesis was titled "摘要随着工程教育…"; the file name is the better title."""
    doc = read_pdf(fixtures.make_thesis_abstract_first(tmp_path))
    assert doc.title == "工程教育认证背景下的课程改革研究"
    assert "随着工程教育专业认证" in "".join(unit.text for unit in doc.units)


def test_long_white_paper_section_is_split_into_citable_parts_with_pages(tmp_path):
    """Issue 11: white papers gave a few units of several pages each."""
    from corpus.pdf import MAX_SECTION_CHARS

    doc = read_pdf(fixtures.make_white_paper(tmp_path))
    parts = [u for u in doc.units if u.number.startswith("一")]
    assert len(parts) >= 4 and [u.number for u in parts][:3] == ["一", "一·2", "一·3"]
    assert all(len(u.text) <= MAX_SECTION_CHARS and u.page_end - u.page <= 1 for u in parts)
    for unit in parts:  # every paragraph names the page it is printed on
        printed = [int(p) for p in re.findall(r"第(\d)页第\d段", unit.text)]
        assert unit.page == printed[0] and unit.page_end >= printed[-1], (unit.number, unit.page, printed)
    assert len({u.unit_id for u in doc.units}) == len(doc.units)
    assert doc.units[-1].number == "二" and doc.units[-1].page == 6


def test_extract_lines_keeps_pages(tmp_path):
    lines, pages, warnings = extract_lines(fixtures.make_running_lines(tmp_path))
    assert pages == 3 and warnings == []
    assert lines[0].text == "中华人民共和国测试法"
    assert {line.page for line in lines} == {1, 2, 3}
    assert not any(line.ocr for line in lines)


def test_scanned_pdf_without_ocr_is_an_error(tmp_path):
    path = fixtures.make_scanned(tmp_path)
    with pytest.raises(IngestError, match="no text layer"):
        read_pdf(path, ocr=False)


@pytest.mark.parametrize(
    "maker, reason",
    [
        (fixtures.make_truncated, "corrupt or truncated"),
        (fixtures.make_encrypted, "encrypted"),
        (fixtures.make_blank, "empty PDF"),
    ],
)
def test_bad_files_raise_ingest_error(tmp_path, maker, reason):
    path = maker(tmp_path)
    with pytest.raises(IngestError, match=reason) as info:
        read_pdf(path)
    assert path.name in str(info.value)
    assert re.search(reason, info.value.reason)


def test_cid_garbage_without_ocr_is_refused(tmp_path):
    with pytest.raises(IngestError, match=r"\(cid:NNN\) garbage"):
        read_pdf(fixtures.make_cid_garbage(tmp_path), ocr=False)


def test_cid_garbage_text_layer_is_ocred_and_says_so(tmp_path):
    """Issue 11: a report whose fonts lack ToUnicode maps was refused although OCR is there."""
    doc = read_pdf(fixtures.make_cid_report(tmp_path))
    assert any("(cid:NNN) garbage" in w and "OCR used instead" in w for w in doc.warnings), doc.warnings
    assert doc.extra["ocr_pages"] == [1] and all(unit.ocr for unit in doc.units)
    text = "\n".join(unit.text for unit in doc.units)
    assert doc.title == "数字政府建设年度报告" and "共享数据目录" in text and "(cid:" not in text


def test_zero_byte_and_non_pdf(tmp_path):
    empty = tmp_path / "nothing.pdf"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="nothing.pdf: empty file"):
        read_pdf(empty)
    html = tmp_path / "page.pdf"
    html.write_text("<html>not a pdf</html>")
    with pytest.raises(IngestError, match="page.pdf: not a PDF"):
        read_pdf(html)


def test_synthetic_running_lines_and_toc(tmp_path):
    path = fixtures.make_running_lines(tmp_path)
    doc = read_pdf(path)
    lines = [line for unit in doc.units for line in unit.text.splitlines()]
    assert not [line for line in lines if "测试法汇编" in line or re.search(r"第\s*\d+\s*页", line)]
    assert not [line for line in lines if re.fullmatch(r"目\s*录|第[一二]章\s*[总附]\s*则", line)]
    assert doc.extra["toc_lines_removed"] == 3 and doc.extra["running_lines_removed"] == 6
    assert [unit.ordinal for unit in doc.articles()] == [1, 2, 3, 4, 5]
    article2 = doc.articles()[1]
    assert article2.text == fixtures.SYNTHETIC_ARTICLES[1][1]
    assert doc.articles()[3].page == 3
    assert doc.version_date == "2021-06-10"


def test_progress_bar(tmp_path, capsys):
    path = fixtures.make_running_lines(tmp_path)
    read_pdf(path, progress=True)
    assert "page" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(LAW_PDFS))
def test_paragraphs_match_markdown(parsed, name):
    """款 boundaries: exact for indented layouts (03, 04); in layouts without a first-line
    indent (01, 02, 06) a sentence that ends exactly at the right margin is ambiguous, so
    at most two articles may split a paragraph differently."""
    doc, _ = parsed[name]
    markdown = _markdown_articles(LAW_PDFS[name][1])
    differ = [
        unit.ordinal
        for unit in doc.articles()
        if len(unit.text.splitlines()) != len(markdown[unit.ordinal].splitlines())
    ]
    allowed = 0 if name.startswith(("03_", "04_")) else 2
    assert len(differ) <= allowed, differ


def _raw(text, size, top, page=1):
    from corpus.pdf import _RawLine

    return _RawLine(text=text, page=page, x0=100, x1=400, top=top, bottom=top + size, size=size, page_width=595, page_height=842)


def test_title_skips_red_header_and_doc_number():
    from corpus.pdf import guess_title

    lines = [
        _raw("国务院文件", 36, 60),
        _raw("国发〔2025〕11号", 16, 130),
        _raw("国务院关于深入实施“人工智能+”", 22, 170),
        _raw("行动的意见", 22, 198),
        _raw("各省、自治区、直辖市人民政府：", 16, 250),
    ]
    assert guess_title(lines) == "国务院关于深入实施“人工智能+”行动的意见"


@pytest.mark.parametrize(
    "title, preamble, has_articles, issuer, expected",
    [
        ("中华人民共和国数据安全法", "", True, "", "法律"),
        ("某某法", "2021年6月10日第十三届全国人民代表大会常务委员会第二十九次会议通过", True, "", "法律"),
        ("最高人民法院关于适用《行政诉讼法》的解释", "", True, "", "司法解释"),
        ("政府信息公开条例", "中华人民共和国国务院令第711号", True, "国务院", "行政法规"),
        ("上海市数据条例", "2021年11月25日上海市第十五届人民代表大会常务委员会第三十七次会议通过", True, "", "地方性法规"),
        ("江苏省“十四五”数字政府建设规划", "", False, "", "规划"),
        ("国务院关于深入实施“人工智能+”行动的意见", "", False, "国务院", "规范性文件"),
        ("上海市普陀区2025年区级部门预算", "", False, "", "规范性文件"),
    ],
)
def test_doc_type_mapping(title, preamble, has_articles, issuer, expected):
    from corpus.pdf import guess_doc_type

    assert guess_doc_type(title, preamble, has_articles, issuer) == expected


def test_dates_in_both_numeral_systems():
    from corpus.pdf import find_dates

    text = "（1989年4月4日通过 根据2017年6月27日第二次修正）二〇二一年六月十日 二〇二〇年十二月三十一日"
    assert find_dates(text) == ["1989-04-04", "2017-06-27", "2021-06-10", "2020-12-31"]


def test_labels_glued_to_their_text_still_start_articles(tmp_path):
    """A text layer that drops the space after each label (`第二条在中华人民共和国境内…`) gave
    one article out of 64, with no warning: 在 / 对 / 未 after a label read as a reference,
    and every later label was then out of sequence. A label glued to a word an article may
    begin with, in sequence after a finished sentence, starts the article."""
    from corpus.ingest import read_document

    source = fixtures.glued_label_articles()
    document = read_document(fixtures.make_glued_labels(tmp_path))
    assert [u.number for u in document.articles()] == [label for label, _ in source]
    assert len(source) == 64 and document.doc_type == "行政法规"
    for unit, (label, texts) in zip(document.articles(), source):
        assert _compact(unit.text) == _compact("".join(texts)), label


def test_a_pdf_of_a_text_in_the_collection_is_its_duplicate(tmp_path):
    """The PDF's preamble says 2024年8月30日…通过…自2025年1月1日起施行; the Markdown is dated
    2024-09-24. The upload was dated by its entry into force, became the newer version and
    demoted the curated Markdown to superseded, both then searched: it is now named by the
    adoption date and, its articles identical, a duplicate of the Markdown."""
    from corpus.ingest import finalize, read_document

    pdf = read_document(fixtures.make_glued_labels(tmp_path))
    assert pdf.version_date == "2024-08-30"
    markdown = read_document(fixtures.NETWORK_DATA_REGULATION, fixtures.NETWORK_DATA_REGULATION.parents[1])
    out = {d.source_format: d for d in finalize([markdown, pdf])}
    assert (out["markdown"].status, out["pdf"].status, out["pdf"].duplicate_of) == ("current", "duplicate",
                                                                                  out["markdown"].doc_id)


def test_a_two_column_page_is_read_column_by_column(tmp_path):
    """A gazette prints a regulation in two columns whose lines share baselines: grouped by
    height across the page, they interleaved (an audit PDF kept 22 of 39 articles, none of
    them intact). Each column is now read in turn, under the title that spans both."""
    from corpus.ingest import read_document

    source = fixtures.glued_label_articles()
    document = read_document(fixtures.make_two_columns(tmp_path))
    assert document.title == "网络数据安全管理条例" and document.doc_type == "行政法规"
    assert [u.number for u in document.articles()] == [label for label, _ in source]
    for unit, (label, texts) in zip(document.articles(), source):
        assert _compact(unit.text) == _compact("".join(texts)), label


@pytest.mark.parametrize("columns_first", [False, True], ids=["block-above", "block-below"])
def test_a_page_that_turns_from_one_column_to_two_is_read_in_order(tmp_path, columns_first):
    """A gazette's first page sets the opening articles across the page, then turns to two
    columns (or a last page ends its columns with a block across the page). The
    full-width lines crossed the gutter too often for the page to count as two-column, so
    its columns were read across and interleaved. The gutter is now looked for where lines
    have text on both sides; the full-width block is a band of its own."""
    from corpus.ingest import read_document

    source = fixtures.glued_label_articles()
    document = read_document(fixtures.make_mixed_columns(tmp_path, columns_first=columns_first))
    assert [u.number for u in document.articles()] == [label for label, _ in source]
    for unit, (label, texts) in zip(document.articles(), source):
        assert _compact(unit.text) == _compact("".join(texts)), label


def test_page_numbers_whose_decoration_ocr_reads_differently_are_found():
    """A scan's footers came back from OCR as `—3-`, `-4-`, `－5－`: masked, no two alike, so
    none recurred and `—3-` stayed inside an article. A page-number form counts like a bare
    number — when number − page is the same on several pages; a number that only happens
    to end a page (a table cell, `12` on page 2) is kept."""
    from corpus.pdf import _RawLine, find_running_lines

    def line(text, page, top):
        return _RawLine(text, page, 100.0, 200.0, top, top + 10, 10.0, 595.0, 842.0, ocr=True)

    footers = ["—1-", "-2-", "—3-", "-4-", "－5－"]
    pages = [[line(f"第{n}条 正文。", n, 300.0), line(footer, n, 800.0)] for n, footer in enumerate(footers, start=1)]
    removed = find_running_lines(pages)
    assert {id(page[1]) for page in pages} <= removed and not any(id(page[0]) in removed for page in pages)
    stray = [[line("正文。", 1, 300.0), line("1", 1, 800.0)], [line("正文。", 2, 300.0), line("2", 2, 800.0)],
             [line("正文。", 3, 300.0), line("12", 3, 800.0)]]
    removed = find_running_lines(stray)
    assert id(stray[0][1]) in removed and id(stray[1][1]) in removed and id(stray[2][1]) not in removed
