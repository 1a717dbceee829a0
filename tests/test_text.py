"""Plain-text reader and policy structurer, on the seven real policy files."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus.normalize import normalize_text
from corpus.records import DOC_TYPES, IngestError, Line
from corpus.text import (
    fill_spanned_cells,
    infer_doc_type,
    match_heading,
    parse_date,
    read_text,
    resolve_doc_type,
    split_front_matter,
    structure_policy,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
POLICY_DIR = SHARED / "corpus" / "policy"
POLICY_FILES = sorted(POLICY_DIR.glob("*.txt"))
LAW_MD = SHARED / "corpus" / "lawrefbook" / "行政法" / "数据安全法(2021-06-10).md"

pytestmark = pytest.mark.skipif(not POLICY_FILES, reason="shared policy corpus not available")

TOP_HEADING = re.compile(r"^([一二三四五六七八九十]+)、")
PAREN_HEADING = re.compile(r"^（([一二三四五六七八九十]+)）")


def _raw_body(path: Path) -> list[str]:
    """Body lines after the front matter, found independently of the reader."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "---"
    end = lines.index("---", 1)
    return lines[end + 1 :]


def _front(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    end = lines.index("---", 1)
    return dict(ln.split(": ", 1) for ln in lines[1:end])


@pytest.fixture(scope="module")
def documents():
    return {p.name: read_text(p) for p in POLICY_FILES}


def test_all_seven_policy_files_present():
    assert len(POLICY_FILES) == 7


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.stem[:6])
def test_every_top_and_second_level_heading_is_a_section(path, documents):
    doc = documents[path.name]
    body = _raw_body(path)
    top = [m.group(1) for m in map(TOP_HEADING.match, body) if m]
    paren = [f"（{m.group(1)}）" for m in map(PAREN_HEADING.match, body) if m]
    sections = [u for u in doc.units if u.kind == "section"]
    top_units = [u.number for u in sections if not u.path and u.number in top]
    assert top_units == top
    assert len(top) >= 4
    paren_units = [u for u in sections if PAREN_HEADING.match(u.text)]
    assert [u.number for u in paren_units] == paren
    # a （一） heading always sits under its 一、 heading
    assert all(len(u.path) == 1 and TOP_HEADING.match(u.path[0]) for u in paren_units)
    # every section's text begins with its own heading line
    for u in sections:
        if not u.number.startswith(("专栏", "附件")):
            heading = match_heading(u.text.split("\n")[0])
            assert heading is not None and heading.label == u.number


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.stem[:6])
def test_metadata_from_front_matter_and_no_front_matter_in_units(path, documents):
    doc = documents[path.name]
    front = _front(path)
    assert doc.title == front["title"]
    assert doc.issuer == front["issuer"]
    assert doc.region == front["region"]
    assert doc.version_date == front["date"]
    assert doc.extra["doc_number"] == front["doc_number"]
    assert doc.doc_type in DOC_TYPES
    assert doc.doc_type == ("规划" if "规划" in front["title"] else "规范性文件")
    for unit in doc.units:
        assert "doc_number:" not in unit.text
        assert "transcribed from" not in unit.text
        assert front["source"] not in unit.text
        assert not unit.text.startswith("---")
        assert unit.text.strip()
    assert len({u.unit_id for u in doc.units}) == len(doc.units)


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.stem[:6])
def test_no_text_is_lost(path, documents):
    """Every non-blank body line ends up in some unit (tables as | rows, so compare cells)."""
    doc = documents[path.name]
    all_text = "\n".join(u.text for u in doc.units)
    for raw in _raw_body(path):
        if not raw.strip():
            continue
        for cell in raw.split("\t"):
            assert normalize_text(cell) in all_text


def test_third_level_heading_with_inline_body_is_one_section(documents):
    doc = documents["云南省数字政府建设总体方案.txt"]
    unit = next(u for u in doc.units if u.text.startswith("1.业务应用体系。"))
    assert unit.kind == "section" and unit.number == "1" and unit.ordinal == 1
    assert unit.path == ("二、总体架构", "（一）技术架构")
    assert "以部门履职和机关运行数字化转型为目标" in unit.text
    # the second-level heading keeps only its own body
    parent = next(u for u in doc.units if u.text.startswith("（一）技术架构"))
    assert "业务应用体系。以部门" not in parent.text


def test_fujian_numbering_runs_through_parents_and_body_numbers_are_not_headings(documents):
    doc = documents["福建省数字政府改革和建设总体方案.txt"]
    third = [u.ordinal for u in doc.units if u.kind == "section" and len(u.path) == 2]
    assert third == [1, 2, 3] + list(range(1, 47))
    # `1个中心——…` lines are body text of 三、实施路径, not headings
    part3 = next(u for u in doc.units if u.kind == "section" and u.number == "三")
    assert "1个中心——以人民为中心" in part3.text and "7大规则" in part3.text


def test_fujian_indicator_table_becomes_rows(documents):
    doc = documents["福建省数字政府改革和建设总体方案.txt"]
    tables = [u for u in doc.units if u.kind == "table"]
    assert len(tables) == 1
    rows = tables[0].text.split("\n")
    raw_rows = [ln for ln in _raw_body(POLICY_DIR / "福建省数字政府改革和建设总体方案.txt") if "\t" in ln]
    assert len(rows) == len(raw_rows) == 22
    assert rows[0] == "序号 | 类别 | 主要指标 | 目标值"
    assert all(row.count(" | ") == 3 for row in rows)
    assert rows[2].startswith("2 | 政务服务 | 政务服务一体机镇街覆盖率")  # spanned 类别 filled in
    assert rows[13].startswith("13 | 省域治理 |")
    assert tables[0].path == ("一、总体要求", "（四）总体目标")
    # table text is not duplicated in the section around it
    assert not any("\t" in u.text or "一窗综合受理率" in u.text for u in doc.units if u.kind == "section")


def test_shanxi_boxes_are_kept_together(documents):
    doc = documents["山西省数字政府建设规划（2023-2025年）.txt"]
    boxes = [u for u in doc.units if u.number.startswith("专栏")]
    assert [u.ordinal for u in boxes] == list(range(1, 15))
    raw = _raw_body(POLICY_DIR / "山西省数字政府建设规划（2023-2025年）.txt")
    for box in boxes:
        start = next(i for i, ln in enumerate(raw) if re.match(rf"^专栏{box.ordinal}\u3000", ln))
        end = next(i for i in range(start, len(raw) + 1) if i == len(raw) or not raw[i].strip())
        assert box.text.count("\n") == end - start - 1  # the whole box, nothing more
        assert len(box.path) == 2 and PAREN_HEADING.match(box.path[1])
    # box text is not also inside a section
    assert not any("发展改革领域数字化建设" in u.text for u in doc.units if not u.number.startswith("专栏"))
    # the annex list `1.…指标` is not mistaken for headings
    annex = doc.units[-1]
    assert annex.number == "附件" and "1.山西省数字政府建设2025年主要指标" in annex.text


def test_missing_opening_has_no_preamble_and_warns(documents):
    doc = documents["江西省数字政府建设总体方案.txt"]
    assert doc.units[0].kind == "section" and doc.units[0].number == "一"
    assert any("INCOMPLETE" in w for w in doc.warnings)
    fourth = [u for u in doc.units if re.match(r"^（\d+）", u.text)]
    assert len(fourth) == 30 and all(len(u.path) == 3 for u in fourth)


def test_preamble_and_closing_lines(documents):
    doc = documents["山东省数字政府建设实施方案.txt"]
    assert doc.units[0].kind == "preamble" and doc.units[0].text.startswith("为深入贯彻落实")
    closing = doc.units[-1]
    assert closing.kind == "paragraph" and closing.text.startswith("抄送")
    assert not any("抄送" in u.text for u in doc.units if u.kind == "section")


def test_structure_policy_sequence_rules():
    texts = [
        "前言一段。",
        "一、总则",
        "2025年，全面建成体系。",
        "1．第一项。内容在同一行",
        "3．跳号的行不是标题",
        "2．第二项",
        "（一）不是二级标题吗？是的",
        "二、保障措施",
        "1．重新开始",
        "2.5亿元投入不是标题",
    ]
    units = structure_policy([Line(t) for t in texts], "d")
    assert [(u.kind, u.number) for u in units] == [
        ("preamble", ""),
        ("section", "一"),
        ("section", "1"),
        ("section", "2"),
        ("section", "（一）"),
        ("section", "二"),
        ("section", "1"),
    ]
    assert "2025年" in units[1].text
    assert "3．跳号的行不是标题" in units[2].text
    assert units[3].path == ("一、总则",)
    assert units[6].path == ("二、保障措施",) and "2.5亿元" in units[6].text
    assert units[2].path == ("一、总则",)
    assert [u.unit_id for u in units[:3]] == ["d:preamble:0", "d:section:0", "d:section:1"]


def test_plain_text_without_front_matter(tmp_path):
    path = tmp_path / "某市数字政府建设实施方案.txt"
    path.write_text("某市数字政府建设实施方案\n\n为推进建设，制定本方案。\n一、总体要求\n内容。\n二、主要任务\n任务。\n", "utf-8")
    doc = read_text(path)
    assert doc.title == "某市数字政府建设实施方案"
    assert doc.doc_type == "规范性文件"
    assert [u.kind for u in doc.units] == ["preamble", "section", "section"]
    assert doc.version_date == ""


@pytest.mark.skipif(not LAW_MD.exists(), reason="lawrefbook not available")
def test_plain_text_law_goes_to_structure_law(tmp_path):
    lines = LAW_MD.read_text(encoding="utf-8").splitlines()
    body = [ln.lstrip("# ") for ln in lines[lines.index("<!-- INFO END -->") + 1 :] if ln.strip()]
    path = tmp_path / "law.txt"
    path.write_text("中华人民共和国数据安全法\n" + "\n".join(body), encoding="gb18030")
    doc = read_text(path)
    assert doc.title == "中华人民共和国数据安全法"
    assert doc.doc_type == "法律"
    articles = doc.articles()
    assert len(articles) == 55
    assert articles[0].number == "第一条" and articles[-1].number == "第五十五条"


def test_front_matter_parsing_and_doc_types():
    front, body = split_front_matter(["---", "title: 标题: 副题", "date: '2023-01-02'", "---", "正文"])
    assert front == {"title": "标题: 副题", "date": "2023-01-02"} and body == ["正文"]
    assert split_front_matter(["---", "不是 front matter", "---"])[0] == {}
    assert split_front_matter(["---", "title: x"])[0] == {}  # unterminated
    assert infer_doc_type("江苏省“十四五”数字政府建设规划", False) == "规划"
    assert infer_doc_type("山西省数字政府建设规划（2023-2025年）", False) == "规划"
    assert infer_doc_type("云南省数字政府建设总体方案", False) == "规范性文件"
    assert infer_doc_type("广东省人民政府关于进一步深化数字政府改革建设的实施意见", False) == "规范性文件"
    assert infer_doc_type("中华人民共和国数据安全法", True) == "法律"
    assert infer_doc_type("浙江省公共数据条例", True) == "地方性法规"
    assert infer_doc_type("政府采购法实施条例", True) == "效力待确认"  # a title is no evidence
    assert resolve_doc_type("", "政府采购法实施条例", True, "中华人民共和国国务院令第658号") == ("行政法规", "")
    assert resolve_doc_type("规划", "x", False) == ("规划", "")
    assert resolve_doc_type("实施方案", "x", False) == ("规范性文件", "")
    doc_type, warning = resolve_doc_type("白皮书", "某某规划", False)
    assert doc_type == "规划" and "白皮书" in warning
    assert parse_date("2023年7月20日") == "2023-07-20" and parse_date("2023/3/2") == "2023-03-02"
    assert parse_date("2023-13-01") == "" and parse_date("") == ""


def test_fill_spanned_cells():
    rows = [["序号", "类别", "指标"], ["1", "甲", "a"], ["2", "b"], ["3", "乙", "c"], ["4", "d"]]
    assert fill_spanned_cells(rows)[2] == ["2", "甲", "b"]
    assert fill_spanned_cells(rows)[4] == ["4", "乙", "d"]


def test_empty_or_title_only_text_is_an_ingest_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n", "utf-8")
    with pytest.raises(IngestError, match="empty"):
        read_text(empty)
    title_only = tmp_path / "title.txt"
    title_only.write_text("只有标题\n", "utf-8")
    with pytest.raises(IngestError, match="no body"):
        read_text(title_only)
