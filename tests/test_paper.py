"""Scholarship-paper reader on the real raw-extracted paper (../shared/corpus/scholarship)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from corpus.paper import read_paper, render_table, split_columns
from corpus.records import IngestError

SHARED = Path(__file__).resolve().parents[2] / "shared"
PAPER = SHARED / "corpus" / "scholarship" / "数字政府建设政企合作模式的追责机制研究.txt"
META = PAPER.with_name(PAPER.stem + ".meta.json")

pytestmark = pytest.mark.skipif(not PAPER.exists(), reason="shared scholarship paper not available")

BODY_KINDS = ("paragraph", "abstract", "section", "table", "title")


@pytest.fixture(scope="module")
def doc():
    return read_paper(PAPER)


@pytest.fixture(scope="module")
def raw_lines():
    return PAPER.read_text(encoding="utf-8").splitlines()


def _units(doc, *kinds):
    return [u for u in doc.units if u.kind in kinds]


def test_title_abstract_and_citation(doc):
    meta = json.loads(META.read_text(encoding="utf-8"))
    assert doc.units[0].kind == "title" and doc.units[0].text.startswith(meta["title"])
    assert doc.title == meta["title"] and doc.doc_type == "学术文献"
    assert doc.issuer == meta["journal"]
    abstracts = {u.number: u.text for u in _units(doc, "abstract")}
    assert abstracts["摘要"].startswith("在数字政府建设背景下") and abstracts["摘要"].endswith("法治化。")
    assert "“数字避责”现象" in abstracts["摘要"]  # a phrase wrapped across two lines, rejoined
    assert abstracts["Abstract"].startswith("In the context of the construction of digital government")
    assert "public and private interests and the obstacles" in abstracts["Abstract"]  # English wrap keeps a space
    citation = doc.extra["citation"]
    assert citation["author"] == meta["author"] and citation["doi"] == meta["doi"]
    assert citation["year"] == meta["year"] and citation["title"] == meta["title"]


def test_sections_in_outline_order(doc, raw_lines):
    # Independent expectation: the PDF outline (tab-indented lines at the end of the file).
    outline = [ln.strip() for ln in raw_lines if ln.startswith("\t")]
    expected = [m.group(1) for m in (re.match(r"^(\d+(?:\.\d+)*)\.\s", x) for x in outline) if m]
    sections = _units(doc, "section")
    assert [u.number for u in sections if u.number[0].isdigit()] == expected
    assert len(expected) == 14
    assert sections[-1].number == "参考文献"
    sub = next(u for u in sections if u.number == "4.1.2")
    assert sub.path == ("4. 数字政府建设政企合作模式的追责困境及成因", "4.1. 数字政府建设政企合作模式追责困境的表现")
    # paragraphs carry their section path; body order follows the file
    paragraph = next(u for u in _units(doc, "paragraph") if "郑州村镇银行" in u.text)
    assert paragraph.path[-1] == "4.1.1. 数字避责现象频发"


def test_no_page_furniture_or_footnotes_in_body(doc, raw_lines):
    footnote_lines = [ln for ln in raw_lines if re.match(r"^\d《", ln)]
    assert len(footnote_lines) == 5
    for unit in _units(doc, *BODY_KINDS):
        text = unit.text
        assert "4241" not in text  # the page number (only inside the running footer)
        assert "龙成秀" not in text or unit.kind == "title"  # author running header
        assert "DOI" not in text and "doi.org" not in text
        assert "http" not in text  # URLs occur only in footnotes
        for line in footnote_lines:
            assert line[1:].split("http")[0] not in text  # footnote `《…》，` pulled out of the body
        assert "\t" not in text
    # the sentences that the footnote blocks interrupted are rejoined
    joined = "\n".join(u.text for u in _units(doc, "paragraph"))
    assert "例如，“预测警务”系统，通过数据分析对比预测行为主体的犯罪可能性" in joined
    assert "未经同意非法获取政务部门数据" in joined
    # ... and so is the one interrupted by the table
    assert "而政府易以技术缺陷为借口，否认行政权力的介入因素" in joined
    # wrapped lines rejoined without spaces; digit–CJK spacing removed
    assert "提升国际竞争力的核心要素" in joined and "对36个数字执法场景" in joined


def test_footnotes_are_separate_units_with_markers_kept(doc):
    notes = _units(doc, "footnote")
    assert [u.number for u in notes] == ["1", "2", "3", "4", "5"]
    assert notes[0].text.startswith("《广东省数字政府改革建设“十四五”规划》") and notes[0].text.endswith("2023年7月11日。")
    assert "中国政企机构数据安全风险分析报告" in notes[4].text
    body = "\n".join(u.text for u in _units(doc, "paragraph"))
    assert "数据安全风险机构的榜首[注5]。" in body
    assert "2022年1月至10月" in body  # a date is not a footnote marker


def test_references_recognised(doc):
    # Hand count: the list under 参考文献 has entries [1] … [16]; [6] and [7] are
    # separated by the running header/footer (doi.org URL, author, `DOI: … 4241 法学`)
    # and [3] wraps onto a second line (`59-67+151.`).
    refs = _units(doc, "reference")
    assert len(refs) >= 16
    assert [u.ordinal for u in refs] == list(range(1, 17))
    assert refs[0].text == "黄璜. 数字政府: 政策、特征与概念[J]. 治理研究, 2020, 36(3): 6-15+2."
    assert refs[2].text.endswith("2021, 23(5): 59-67+151.")
    assert refs[6].text.startswith("梅立润.") and "DOI" not in refs[5].text + refs[6].text
    assert all(u.path == ("参考文献",) for u in refs)


def test_table_rendered_as_rows(doc):
    tables = _units(doc, "table")
    assert len(tables) == 1 and tables[0].number == "表1"
    rows = [r for r in tables[0].text.split("\n") if " | " in r]
    assert rows[0] == "政企合作模式 | 特点 | 责任承担模式 | 代表省份"
    assert len(rows) == 5 and all(r.count(" | ") == 3 for r in rows)
    assert rows[1] == (
        "政企合作、管运分离模式 | 政府不再承担建设者的职责，成为使用者、评价者和监督者；政府和企业的权责划分较为明晰"
        " | 谁主管谁负责、谁运营谁负责、谁使用谁负责的责任承担原则 | 广东省[注1]"
    )
    assert rows[4].split(" | ")[2] == "多部门协同联动，落实各单位保障数据安全、技术安全的责任"
    assert tables[0].path == ("2. 数字政府建设政企合作模式下追责机制的现实状况",)


def test_pages_from_the_page_number_footer(doc):
    refs = _units(doc, "reference")
    # `DOI: … 4241 法学` ends page 4241: [1]–[6] precede it, [7]–[16] follow on 4242.
    assert {u.page for u in refs[:6]} == {4241}
    assert {u.page for u in refs[6:]} == {4242}
    # the text before the first recoverable break has no invented page
    assert _units(doc, "paragraph")[0].page is None


def test_split_columns_uses_line_widths():
    lines = ["政企合作、", "管运分离模式", "政府不再承担建设者的职责，成为使用者、", "评价者和监督者；政府和企业的权责划分", "较为明晰"]
    assert split_columns(lines, 2) == [lines[:2], lines[2:]]
    rows, ok = render_table(["甲 乙", "没有行尾标记的行"])
    assert not ok and rows == [["甲 乙"], ["没有行尾标记的行"]]


def test_without_sidecar_title_comes_from_outline(tmp_path):
    copy = tmp_path / "paper.txt"
    shutil.copy(PAPER, copy)
    doc = read_paper(copy)
    assert doc.title == "数字政府建设政企合作模式的追责机制研究"
    assert doc.extra["citation"]["doi"] == ""
    assert len(_units(doc, "reference")) == 16


def test_broken_sidecar_is_an_ingest_error(tmp_path):
    copy = tmp_path / "paper.txt"
    shutil.copy(PAPER, copy)
    (tmp_path / "paper.meta.json").write_text("{not json", "utf-8")
    with pytest.raises(IngestError, match="sidecar"):
        read_paper(copy)
