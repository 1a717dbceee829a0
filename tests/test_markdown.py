"""LawRefBook Markdown reader and 民法典 merging (corpus.markdown) on real files."""
from pathlib import Path, PurePosixPath

import pytest

from corpus.markdown import (
    classify,
    derive_issuer,
    is_document,
    merge_parts,
    parse_events,
    read_lawrefbook,
)
from corpus.records import IngestError, make_doc_id

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAWREF = SHARED / "corpus" / "lawrefbook"


def read(rel: str):
    return read_lawrefbook(LAWREF / rel, LAWREF)


def test_data_security_law_metadata_and_articles():
    doc = read("行政法/数据安全法(2021-06-10).md")
    assert doc.title == "中华人民共和国数据安全法"
    assert (doc.doc_type, doc.region, doc.issuer) == ("法律", "", "全国人民代表大会常务委员会")
    assert doc.version_date == "2021-06-10"
    assert doc.source_path == "行政法/数据安全法(2021-06-10).md"
    assert doc.doc_id == make_doc_id("行政法/数据安全法(2021-06-10).md")
    assert doc.source_format == "markdown" and doc.law_key == "数据安全法"
    arts = doc.articles()
    assert len(arts) == 55 and len(doc.units) == 55
    assert [u.ordinal for u in arts] == list(range(1, 56))
    by_number = {u.number: u for u in arts}
    a40 = by_number["第四十条"]
    assert a40.path == ("第五章 政务数据安全与开放",)
    assert a40.text.startswith("国家机关委托他人建设、维护电子政务系统")
    # 款 of an article stay inside it
    assert by_number["第二条"].text.count("\n") == 1
    assert doc.warnings == []


def test_criminal_law_suffix_articles_and_appendix():
    doc = read("刑法/刑法.md")
    arts = {u.number: u for u in doc.articles()}
    a = arts["第二百五十三条之一"]
    assert a.ordinal == 253
    assert a.path == ("第二编 分则", "第四章 侵犯公民人身权利、民主权利罪")
    assert "出售或者提供公民个人信息" in a.text
    assert "第一百二十条之六" in arts and "第一百三十三条之二" in arts
    assert doc.articles()[-1].number == "第四百五十二条"
    # 附件一/附件二 after the last article are not part of 第四百五十二条
    extras = [u for u in doc.units if u.kind != "article"]
    assert [u.path for u in extras] == [("附件一",), ("附件二",)]
    assert "全国人民代表大会常务委员会制定的下列" not in arts["第四百五十二条"].text
    assert "制定的下列条例" in extras[0].text


def test_civil_code_books_merge_into_one_document():
    files = sorted(p for p in (LAWREF / "民法典").glob("*.md") if is_document(p))
    parts = [read_lawrefbook(p, LAWREF) for p in files]
    assert {d.part for d in parts} == {"总则", "物权编", "合同编", "人格权编", "婚姻家庭编", "继承编", "侵权责任编", "附则"}
    merged = merge_parts(parts)
    assert len(merged) == 1
    code = merged[0]
    assert code.title == "中华人民共和国民法典" and code.part == ""
    arts = code.articles()
    assert len(arts) == 1260
    assert [u.ordinal for u in arts] == list(range(1, 1261))
    assert arts[-1].number == "第一千二百六十条"
    by_number = {u.number: u for u in arts}
    assert by_number["第五十四条"].path == ("总则", "第二章 自然人", "第四节 个体工商户和农村承包经营户")
    assert by_number["第四百六十九条"].path[:2] == ("合同编", "第一分编 通则")
    assert by_number["第一千二百六十条"].path == ("附则",)
    assert all(u.doc_id == code.doc_id for u in code.units)
    assert len({u.unit_id for u in code.units}) == len(code.units)
    assert code.version_date == "2020-05-28"
    assert sorted(code.extra["parts"]) == sorted(d.source_path for d in parts)
    assert code.warnings == []


def test_merge_parts_keeps_other_documents_and_order():
    law = read("行政法/数据安全法(2021-06-10).md")
    book = read("民法典/附则.md")
    merged = merge_parts([law, book])
    assert merged[0] is law
    assert merged[1].title == "中华人民共和国民法典" and merged[1].articles()[0].path == ("附则",)


def test_versions_dates_from_name_and_header():
    assert read("诉讼与非诉讼程序法/行政复议法(2017-09-01).md").version_date == "2017-09-01"
    book = read("民法典/总则.md")
    assert book.version_date == "2020-05-28"  # adoption date, not the 施行 date (2021-01-01)
    assert book.extra["version_from"] == "header"


def test_local_regulation_region_and_issuer():
    doc = read("DLC/上海地方法规/地方性法规/上海/上海市不动产登记若干规定(2020-11-27).md")
    assert (doc.doc_type, doc.region, doc.issuer) == ("地方性法规", "上海市", "上海市人民代表大会常务委员会")
    assert len(doc.articles()) == 42


@pytest.mark.parametrize(
    ("rel", "title", "expected"),
    [
        ("行政法规/x.md", "某条例", ("行政法规", "")),
        ("司法解释/x.md", "最高人民法院关于…的解释", ("司法解释", "")),
        ("部门规章/公安部/x.md", "交通警察道路执勤执法工作规范", ("部门规章", "")),
        ("部门规章/人力资源社会保障部/x.md", "关于职工全年月平均工作时间和工资折算问题的通知", ("规范性文件", "")),
        ("DLC/北京地方法规/地方性法规/北京/x.md", "北京市审计条例", ("地方性法规", "北京市")),
        ("DLC/重庆地方法规/地方性法规/重庆/x.md", "重庆市x条例", ("地方性法规", "重庆市")),
        ("DLC/广东地方法规/地方性法规/广东/x.md", "广东省x条例", ("地方性法规", "广东省")),
        ("案例/劳动人事/x.md", "加班费的仲裁时效应当如何认定", ("案例", "")),
        ("其他/x.md", "人体损伤程度鉴定标准", ("规范性文件", "")),
        ("其他/x.md", "劳动仲裁和劳动诉讼的攻略", ("学术文献", "")),
        ("宪法相关法/x.md", "中华人民共和国外交特权与豁免条例", ("法律", "")),
    ],
)
def test_classify(rel, title, expected):
    assert classify(PurePosixPath(rel), title) == expected


def test_issuer_from_events_title_and_folder():
    events = parse_events(["2002年7月27日 中华人民共和国国务院令第356号公布"])
    assert derive_issuer("行政法规", "x", events, PurePosixPath("行政法规/x.md")) == "国务院"
    events = parse_events(["2000年7月24日 中华人民共和国国务院、中华人民共和国中央军事委员会令第288号公布"])
    assert derive_issuer("行政法规", "x", events, PurePosixPath("行政法规/x.md")) == "国务院、中央军事委员会"
    assert derive_issuer("司法解释", "最高人民法院、最高人民检察院关于…", [], PurePosixPath("司法解释/x.md")) == (
        "最高人民法院、最高人民检察院"
    )
    events = parse_events(["2015年12月16日 最高人民检察院第十二届检察委员会第四十五次会议通过"])
    assert derive_issuer("司法解释", "人民检察院提起公益诉讼试点工作实施办法", events, PurePosixPath("司法解释/x.md")) == (
        "最高人民检察院"
    )
    assert derive_issuer("部门规章", "x", [], PurePosixPath("部门规章/公安部/x.md")) == "公安部"


def test_parse_events_joins_wrapped_lines():
    events = parse_events(["2014年9月26", "日山东省第十二届人民代表大会常务委员会第十次会议批准", "\xa02018年1月1日 施行"])
    assert [e.date for e in events] == ["2014-09-26", "2018-01-01"]
    assert events[0].text.startswith("山东省第十二届")


def test_index_files_are_not_documents():
    index = LAWREF / "民法典" / "_index.md"
    assert not is_document(index)
    with pytest.raises(IngestError, match="_index.md"):
        read_lawrefbook(index, LAWREF)


def test_case_files_become_sections_not_articles():
    # this case quotes 司法解释 第六条 at a line start; a case has no articles of its own
    doc = read("案例/消费购物/吴某与某电子商务有限公司买卖合同纠纷案.md")
    assert doc.doc_type == "案例"
    assert doc.articles() == []
    assert doc.units and all(u.kind in ("section", "paragraph", "table") for u in doc.units)
    quoted = [u for u in doc.units if u.path == ("司法解释相关法条",)]
    assert len(quoted) == 1 and "\n第六条 食品经营者具有下列情形之一" in quoted[0].text


def test_table_rows_are_not_articles():
    doc = read("司法解释/最高人民法院、最高人民检察院关于执行《刑法》确定罪名的补充规定（六）(2015-10-30).md")
    assert doc.articles() == []
    tables = [u for u in doc.units if u.kind == "table"]
    assert len(tables) == 1
    assert tables[0].text.splitlines()[0] == "刑法条文 | 罪名"
    assert "第一百二十条之一 （《刑法修正案（九）》第六条） | 帮助恐怖活动罪" in tables[0].text


def test_amendment_without_articles_gets_item_sections():
    doc = read("刑法/刑法修正案（十一）.md")
    assert doc.articles() == []
    sections = [u for u in doc.units if u.kind == "section"]
    assert sections[0].number == "一、" and sections[1].number == "二、"
    assert "第一百三十三条之二" in sections[1].text
    assert doc.warnings == ["no 第X条 articles; split into sections/paragraphs"]


def test_markup_is_stripped_and_minimal_file(tmp_path):
    root = tmp_path / "lawrefbook"
    folder = root / "行政法规"
    folder.mkdir(parents=True)
    path = folder / "测试条例(2020-01-02).md"
    path.write_text(
        "# 测试条例\n\n2020年1月2日 国务院令第1号公布\n\n<!-- INFO END -->\n\n## 第一章  总  则\n\n"
        "第一条 **为了**测试，见[链接](http://x)。<br>\n\n第二条 本条例自公布之日起施行。\n",
        encoding="utf-8",
    )
    doc = read_lawrefbook(path, root)
    assert doc.source_path == "行政法规/测试条例(2020-01-02).md"
    assert doc.issuer == "国务院" and doc.version_date == "2020-01-02"
    assert [(u.number, u.path, u.text) for u in doc.units] == [
        ("第一条", ("第一章 总则",), "为了测试，见链接。"),
        ("第二条", ("第一章 总则",), "本条例自公布之日起施行。"),
    ]
    # without a root the path is taken relative to the nearest `lawrefbook` folder
    assert read_lawrefbook(path).doc_id == doc.doc_id


def test_bad_files_raise_ingest_error(tmp_path):
    no_title = tmp_path / "x.md"
    no_title.write_text("第一条 无标题。\n", encoding="utf-8")
    with pytest.raises(IngestError, match="title"):
        read_lawrefbook(no_title, tmp_path)
    binary = tmp_path / "y.md"
    binary.write_bytes(b"# \xff\xfe\x00bad")
    with pytest.raises(IngestError, match="UTF-8"):
        read_lawrefbook(binary, tmp_path)
    with pytest.raises(IngestError, match="collection root"):
        read_lawrefbook(no_title, tmp_path / "elsewhere")


def test_invisible_lines_make_no_units_and_digits_fold():
    """公司法 has 42 lines made only of U+200B: they once became empty `paragraph` units
    (text '\\u200b') that dense search ranked for one-word questions such as 法律."""
    company = read("民法商法/公司法(2023-12-29).md")
    assert len(company.units) == len(company.articles()) == 266
    for doc in (company, read("诉讼与非诉讼程序法/民事诉讼法(2023-09-01).md")):
        assert not [u.unit_id for u in doc.units if any(c in u.text for c in "\u200b\ufeff\u3000") or not u.text.strip()]
    maritime = {u.number: u.text for u in read("民法商法/海商法(1992-11-07).md").articles()}
    assert not any(c in text for text in maritime.values() for c in "０１２３４５６７８９")
