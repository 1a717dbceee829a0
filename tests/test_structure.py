"""Law structure parsing (corpus.structure) on PDF-like and Markdown-like lines."""
from pathlib import Path

import pytest

from corpus.records import Line
from corpus.structure import (
    ARTICLE_START_RE,
    block_units,
    compact_heading,
    is_article_start,
    structure_law,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"


def L(text, page=1, **kwargs):
    return Line(text=text, page=page, **kwargs)


def articles(units):
    return [u for u in units if u.kind == "article"]


def test_articles_paragraphs_paths_and_pages():
    lines = [
        L("中华人民共和国测试法"),
        L("第一章　总　则"),
        L("第一条　为了测试，制定本法。"),
        L("第二条 本法所称数据，是指任何记录。", 2),
        L("数据处理，包括收集、存储。", 3, ocr=True),
        L("第二章 附则", 3),
        L("第三条 本法自公布之日起施行。", 3),
    ]
    units = structure_law(lines, "d1")
    assert [u.kind for u in units] == ["preamble", "article", "article", "article"]
    pre, a1, a2, a3 = units
    assert pre.text == "中华人民共和国测试法"
    assert (a1.number, a1.ordinal, a1.path) == ("第一条", 1, ("第一章 总则",))
    assert a1.text == "为了测试，制定本法。"
    assert a2.text == "本法所称数据，是指任何记录。\n数据处理，包括收集、存储。"
    assert (a2.page, a2.page_end, a2.ocr) == (2, 3, True)
    assert not a1.ocr
    assert a3.path == ("第二章 附则",)
    assert [u.unit_id for u in units[1:]] == ["d1:article:0", "d1:article:1", "d1:article:2"]


def test_arabic_and_spaced_labels_are_canonicalised():
    lines = [L("第 1 条 甲。"), L("第2条　乙。"), L("第三 条丙。"), L("笫四条 丁。")]
    units = structure_law(lines, "d")
    assert [(u.number, u.ordinal) for u in units] == [("第一条", 1), ("第二条", 2), ("第三条", 3), ("第四条", 4)]
    assert units[2].text == "丙。"


def test_wrapped_reference_at_line_start_is_not_an_article():
    lines = [
        L("第二十六条 有下列情形之一的，依照本法"),
        L("第二十七条规定的程序处理："),  # PDF wrap: expected number, but a reference
        L("（一）情形一；"),
        L("第二十七条 申请人可以申请复议。"),
        L("第二十八条 依照本法"),
        L("第二十条 规定处理的，"),  # backward jump with a space: text, not an article
        L("从其规定。"),
    ]
    units = structure_law(lines, "d")
    assert [u.number for u in units] == ["第二十六条", "第二十七条", "第二十八条"]
    assert "第二十七条规定的程序处理：" in units[0].text
    assert units[2].text == "依照本法\n第二十条 规定处理的，\n从其规定。"


def test_label_without_space_needs_sentence_end_before_it():
    # "…依照本法" does not end a sentence, so "第三条为…" continues it.
    lines = [L("第一条 甲。"), L("第二条 依照本法"), L("第三条为准。"), L("第三条为了乙。")]
    units = structure_law(lines, "d")
    assert [u.number for u in units] == ["第一条", "第二条", "第三条"]
    assert units[1].text == "依照本法\n第三条为准。"
    assert units[2].text == "为了乙。"


def test_suffix_articles_and_small_gaps():
    lines = [L("第十条 甲。"), L("第十条之一 乙。"), L("第十条之二 丙。"), L("第十一条 丁。"), L("第十三条 戊。")]
    units = structure_law(lines, "d")
    assert [(u.number, u.ordinal) for u in units] == [
        ("第十条", 10), ("第十条之一", 10), ("第十条之二", 10), ("第十一条", 11), ("第十三条", 13)
    ]


def test_large_jump_needs_a_heading():
    lines = [L("第一条 甲。"), L("第二条 乙。"), L("第九十条 引文。"), L("第二章 其他"), L("第九十一条 丙。")]
    units = structure_law(lines, "d")
    assert [u.number for u in units] == ["第一条", "第二条", "第九十一条"]
    assert units[1].text == "乙。\n第九十条 引文。"


def test_quoted_amendment_text_is_not_an_article():
    lines = [
        L("第一条 将第十条修改为："),
        L("“第十条 国家保护数据。”"),
        L("第二条 增加一节，作为第七节；增加二条，作为第一百二十三条、第一百二十四条。内容如下："),
        L("第七节 监察委员会"),
        L("第一百二十三条 监察委员会是监察机关。"),
        L("第一百二十四条 国家设立监察委员会。"),
        L("第三条 本修正案自公布之日起施行。"),
    ]
    units = structure_law(lines, "d")
    assert [u.number for u in units] == ["第一条", "第二条", "第三条"]
    assert units[0].text.endswith("“第十条 国家保护数据。”")
    assert "第一百二十三条 监察委员会是监察机关。" in units[1].text
    assert "第七节 监察委员会" in units[1].text
    assert all(u.path == () for u in units)


def test_several_articles_on_one_line_are_split():
    lines = [L("第一条 甲。 第二条 乙依照第三条 规定。 第三条 丙。"), L("第四条 丁。")]
    units = structure_law(lines, "d")
    assert [(u.number, u.text) for u in units] == [
        ("第一条", "甲。"), ("第二条", "乙依照第三条 规定。"), ("第三条", "丙。"), ("第四条", "丁。")
    ]


def test_markdown_headings_and_levels():
    lines = [
        Line("第一编 总则", heading_level=2),
        Line("第一章 基本规定", heading_level=3),
        Line("第一条 甲。"),
        Line("第一节 小节", heading_level=4),
        Line("第二条 乙。"),
        Line("第二章 其他", heading_level=3),
        Line("第三条 丙。"),
        Line("附件一", heading_level=2),  # same depth as 编 → replaces the whole path
        Line("附件正文。"),
    ]
    units = structure_law(lines, "d")
    assert [u.path for u in units] == [
        ("第一编 总则", "第一章 基本规定"),
        ("第一编 总则", "第一章 基本规定", "第一节 小节"),
        ("第一编 总则", "第二章 其他"),
        ("附件一",),
    ]
    assert units[-1].kind == "paragraph" and units[-1].text == "附件正文。"


def test_empty_markdown_heading_clears_its_level():
    lines = [Line("第一章 总则", heading_level=2), Line("第一条 甲。"), Line("", heading_level=2), Line("第二条 乙。")]
    assert [u.path for u in structure_law(lines, "d")] == [("第一章 总则",), ()]


def test_toc_before_first_article_does_not_leak_into_paths():
    lines = [L("目 录"), L("第一章 总则"), L("第二章 附则"), L("第一章 总则", 2), L("第一条 甲。", 2)]
    units = structure_law(lines, "d")
    assert units[0].kind == "preamble" and units[0].text == "目 录"
    assert units[1].path == ("第一章 总则",)


def test_pdf_headings_label_and_title_on_separate_lines():
    lines = [L("第一章"), L("总　则"), L("第一条 甲。"), L("第二章"), L("第二条 乙。"), L("附　则"), L("第三条 丙。")]
    units = structure_law(lines, "d")
    assert [(u.number, u.path) for u in units] == [
        ("第一条", ("第一章 总则",)),
        ("第二条", ("第二章",)),
        ("第三条", ("附则",)),  # a bare 附则 line is a top-level heading (民法典)
    ]


def test_heading_like_body_lines_stay_text():
    lines = [L("第一条 甲。"), L("第七节相应改为第八节，第一百二十三条相应改为第一百二十八条。"), L("第二章规定的事项除外。")]
    units = structure_law(lines, "d")
    assert len(units) == 1 and units[0].path == ()
    assert units[0].text.count("\n") == 2


def test_no_articles_falls_back_to_sections_and_paragraphs():
    lines = [
        L("为了惩治犯罪，作如下修改："),
        L("一、将刑法第十七条修改为：“……”"),
        L("“第二款内容。”"),
        L("二、本修正案自公布之日起施行。"),
    ]
    units = structure_law(lines, "d")
    assert [(u.kind, u.number) for u in units] == [("paragraph", ""), ("section", "一、"), ("section", "二、")]
    assert units[1].text.endswith("“第二款内容。”")


def test_block_units_tables_and_headings():
    lines = [
        Line("基本案情", heading_level=2),
        Line("张某入职。"),
        Line("张某离职。"),
        Line("| 刑法条文 | 罪名 |"),
        Line("| 第一百二十条之一 | 帮助恐怖活动罪 |"),
        Line("裁判结果", heading_level=2),
        Line("驳回。"),
    ]
    units = block_units(lines, "c")
    assert [(u.kind, u.path, u.text) for u in units] == [
        ("section", ("基本案情",), "张某入职。\n张某离职。"),
        ("table", ("基本案情",), "刑法条文 | 罪名\n第一百二十条之一 | 帮助恐怖活动罪"),
        ("section", ("裁判结果",), "驳回。"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第一条 为了", True),
        ("第一条\u3000为了", True),
        ("第一条", True),
        ("第1条为了规范", True),
        ("第二十七条规定的情形", False),
        ("第二十七条、第二十八条", False),
        ("第十条之一 新增", True),
        ("“第十条 引文", False),
        ("依照本法第二十七条", False),
        ("第一章 总则", False),
    ],
)
def test_is_article_start(text, expected):
    assert is_article_start(text) is expected


def test_article_start_regex_groups():
    m = ARTICLE_START_RE.match("第二百五十三条之一 违反国家有关规定")
    assert (m.group("num"), m.group("suffix"), m.group("rest").strip()) == ("二百五十三", "一", "违反国家有关规定")


def test_compact_heading():
    assert compact_heading("## 第一章  总  则") == "第一章 总则"
    assert compact_heading("第1章 总则") == "第一章 总则"
    assert compact_heading("第一分编\u2002\u2002通则") == "第一分编 通则"


def test_real_pdf_lines_without_cleaning():
    """Raw pdfplumber lines (TOC, wraps, page numbers) of a real law PDF still give 55 articles."""
    pdfplumber = pytest.importorskip("pdfplumber")
    pdf_path = SHARED / "pdfs" / "01_law_data_security_law_2021.pdf"
    lines = []
    with pdfplumber.open(pdf_path) as pdf:
        for page_no, page in enumerate(pdf.pages, 1):
            lines += [Line(t, page=page_no) for t in (page.extract_text() or "").splitlines()]
    units = structure_law(lines, "dsl")
    arts = articles(units)
    assert [u.ordinal for u in arts] == list(range(1, 56))
    assert arts[-1].path == ("第七章 附则",)
    assert arts[0].page == 1 and arts[-1].page_end == 7
    assert units[0].kind == "preamble" and units[0].text.startswith("中华人民共和国数据安全法")


def test_a_label_glued_to_an_article_opening_starts_the_article():
    """`第二条在…` / `第四条对…` / `第五条未经…`: words a reference continues with (第二条在本法
    中…) but also words an article's first sentence begins with. In sequence, after a
    finished sentence, such a label starts the article; a glued label may also skip a few
    numbers like a spaced one; `第六条规定的…` after a sentence end stays a reference."""
    lines = [L("第一条为了甲。"), L("第二条在中华人民共和国境内开展活动，适用本条例。"), L("第三条国家统筹。"),
             L("第四条对违反本条例的，依法处理。"), L("第五条未经同意，不得处理。"), L("第六条规定的情形除外。"),
             L("第八条国家鼓励配合。")]
    units = structure_law(lines, "d")
    assert [u.number for u in units] == ["第一条", "第二条", "第三条", "第四条", "第五条", "第八条"]
    assert units[1].text == "在中华人民共和国境内开展活动，适用本条例。"
    assert units[4].text == "未经同意，不得处理。\n第六条规定的情形除外。"
    # a wrapped reference (no sentence end before it) is still text, in sequence or not
    wrapped = structure_law([L("第一条 依照本法"), L("第二条在内的规定处理。")], "d")
    assert [u.number for u in wrapped] == ["第一条"]
