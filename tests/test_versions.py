"""Version grouping and status (corpus.versions) on real documents."""
import random
from dataclasses import replace
from pathlib import Path

import pytest

from corpus.markdown import read_lawrefbook
from corpus.records import Document, Line, Unit, make_doc_id
from corpus.structure import structure_law
from corpus.versions import (
    VersionIndex,
    apply_repeals,
    assign_status,
    content_similarity,
    law_key,
    repeal_clauses,
    version_group,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAWREF = SHARED / "corpus" / "lawrefbook"


def read(rel: str) -> Document:
    return read_lawrefbook(LAWREF / rel, LAWREF)


def fake_doc(path: str, title: str, *, date: str = "", region: str = "", fmt: str = "markdown", texts=("甲。",)):
    doc_id = make_doc_id(path)
    units = [
        Unit(f"{doc_id}:article:{i}", doc_id, "article", text, number=f"第{'一二三四五六七八九'[i]}条", ordinal=i + 1)
        for i, text in enumerate(texts)
    ]
    return Document(doc_id, title, "地方性法规" if region else "法律", path, fmt, units, version_date=date, region=region)


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("中华人民共和国行政复议法", "行政复议法"),
        ("中华人民共和国行政复议法（2023修订）", "行政复议法"),
        ("行政复议法 (2017年修正)", "行政复议法"),
        ("中华人民共和国行政复议法实施条例", "行政复议法实施条例"),
        ("中华人民共和国宪法修正案（2018年）", "宪法修正案(2018年)"),
        ("中华人民共和国刑法修正案（十一）", "刑法修正案(十一)"),
        ("人民检察院刑事诉讼规则（试行）", "人民检察院刑事诉讼规则(试行)"),
        ("北京市实施《中华人民共和国水法》办法", "北京市实施<水法>办法"),
        ("北京市实施《水法》办法", "北京市实施<水法>办法"),
    ],
)
def test_law_key(title, key):
    assert law_key(title) == key


def test_administrative_reconsideration_law_versions():
    docs = [
        read("诉讼与非诉讼程序法/行政复议法(2017-09-01).md"),
        read("诉讼与非诉讼程序法/行政复议法(2023-09-01).md"),
        read("行政法规/行政复议法实施条例(2007-05-29).md"),
    ]
    out = assign_status(docs)
    assert [(d.version_date, d.status) for d in out] == [
        ("2017-09-01", "superseded"),
        ("2023-09-01", "current"),
        ("2007-05-29", "current"),  # 实施条例 is its own instrument
    ]
    assert all(d.duplicate_of == "" for d in out)
    assert [d.status for d in docs] == ["current"] * 3  # inputs untouched


def test_same_law_in_two_folders_is_a_duplicate():
    a = read("经济法/广告法(2021-04-29).md")
    b = read("行政法/广告法(2021-04-29).md")
    out = assign_status([b, a])
    kept = min((a, b), key=lambda d: d.source_path)
    statuses = {d.source_path: (d.status, d.duplicate_of) for d in out}
    assert statuses[kept.source_path] == ("current", "")
    other = ({a.source_path, b.source_path} - {kept.source_path}).pop()
    assert statuses[other] == ("duplicate", kept.doc_id)


def test_pdf_copy_of_unknown_date_is_duplicate_of_markdown():
    pdfplumber = pytest.importorskip("pdfplumber")
    lines = []
    with pdfplumber.open(SHARED / "pdfs" / "01_law_data_security_law_2021.pdf") as pdf:
        for page_no, page in enumerate(pdf.pages, 1):
            lines += [Line(t, page=page_no) for t in (page.extract_text() or "").splitlines()]
    pdf_id = make_doc_id("01_law_data_security_law_2021.pdf")
    pdf_doc = Document(pdf_id, "中华人民共和国数据安全法", "法律", "01_law_data_security_law_2021.pdf", "pdf",
                       structure_law(lines, pdf_id))
    md_doc = read("行政法/数据安全法(2021-06-10).md")
    assert content_similarity(pdf_doc, md_doc) >= 0.98
    out = assign_status([pdf_doc, md_doc])  # PDF first: the Markdown copy still wins
    assert (out[0].status, out[0].duplicate_of) == ("duplicate", md_doc.doc_id)
    assert out[1].status == "current"


def test_same_date_pdf_is_duplicate_even_if_text_differs():
    md_doc = read("行政法/数据安全法(2021-06-10).md")
    pdf_doc = replace(md_doc, doc_id="p", source_path="a.pdf", source_format="pdf", units=md_doc.units[:10])
    out = assign_status([pdf_doc, md_doc])
    assert (out[0].status, out[0].duplicate_of) == ("duplicate", md_doc.doc_id)


def test_a_copy_in_another_format_with_identical_articles_is_a_duplicate_whatever_its_date():
    """A PDF's reader may date it by another line of its preamble (an adoption date where the
    Markdown has the promulgation date): identical articles are the same version, and the
    user's upload never supersedes the curated text. Two Markdown files of one text under
    two dates stay two versions; a PDF with a changed article is a version of its own."""
    md = fake_doc("a/数据法(2020-01-01).md", "数据法", date="2020-01-01", texts=("甲。", "乙。"))
    pdf = fake_doc("b/数据法.pdf", "数据法", date="2020-03-01", fmt="pdf", texts=("甲。", "乙 。"))
    out = assign_status([pdf, md])
    assert (out[0].status, out[0].duplicate_of, out[1].status) == ("duplicate", md.doc_id, "current")
    later_md = fake_doc("c/数据法(2020-03-01).md", "数据法", date="2020-03-01", texts=("甲。", "乙。"))
    assert [d.status for d in assign_status([later_md, md])] == ["current", "superseded"]
    revised = fake_doc("b/数据法.pdf", "数据法", date="2020-03-01", fmt="pdf", texts=("甲。", "丙。"))
    assert [d.status for d in assign_status([revised, md])] == ["current", "superseded"]


@pytest.mark.parametrize(("preamble", "date"), [
    ("（2007年4月5日中华人民共和国国务院令第492号公布　2019年4月3日中华人民共和国国务院令第711号修订）"
     "《中华人民共和国政府信息公开条例》已经2019年4月3日国务院第46次常务会议修订通过，现予公布，自2019年5月15日起施行。",
     "2019-04-03"),
    ("（2021年12月17日公安部令第163号公布，自 2022 年 4 月 1 日起施行）", "2021-12-17"),
    ("本办法自2022年4月1日起施行。", "2022-04-01"),  # nothing else: the only date there is
])
def test_a_version_is_named_by_its_adoption_not_its_entry_into_force(preamble, date):
    from corpus.pdf import dated_tails
    from corpus.versions import naming_date

    assert naming_date(dated_tails(preamble)) == date


def test_undated_different_text_is_ranked_below_dated_version():
    dated = fake_doc("a/数据法(2020-01-01).md", "数据法", date="2020-01-01", texts=("甲。", "乙。"))
    undated = fake_doc("b/数据法.pdf", "数据法", fmt="pdf", texts=("丙。", "丁。"))
    out = assign_status([undated, dated])
    assert [d.status for d in out] == ["superseded", "current"]
    assert any("version date unknown" in w for w in out[0].warnings)


def test_only_undated_versions_first_by_preference_is_current():
    a = fake_doc("x/数据法.md", "数据法", texts=("甲。",))
    b = fake_doc("x/数据法.pdf", "数据法", fmt="pdf", texts=("乙。",))
    assert [d.status for d in assign_status([b, a])] == ["superseded", "current"]


def test_provinces_do_not_merge():
    sh = fake_doc("DLC/上海/数据条例(2021-11-25).md", "数据条例", date="2021-11-25", region="上海市")
    zj = fake_doc("DLC/浙江/数据条例(2022-02-18).md", "数据条例", date="2022-02-18", region="浙江省")
    assert [d.status for d in assign_status([sh, zj])] == ["current", "current"]


def test_status_is_independent_of_input_order():
    docs = [
        read("诉讼与非诉讼程序法/行政复议法(2017-09-01).md"),
        read("诉讼与非诉讼程序法/行政复议法(2023-09-01).md"),
        read("经济法/广告法(2021-04-29).md"),
        read("行政法/广告法(2021-04-29).md"),
        fake_doc("x/行政复议法.pdf", "中华人民共和国行政复议法", fmt="pdf", texts=("不同。",)),
    ]
    expected = {d.source_path: (d.status, d.duplicate_of) for d in assign_status(docs)}
    rng = random.Random(7)
    for _ in range(5):
        shuffled = docs[:]
        rng.shuffle(shuffled)
        assert {d.source_path: (d.status, d.duplicate_of) for d in assign_status(shuffled)} == expected


def test_version_index_history_is_every_older_version_by_canonical_label():
    old, new = assign_status([
        read("诉讼与非诉讼程序法/行政复议法(2017-09-01).md"),
        read("诉讼与非诉讼程序法/行政复议法(2023-09-01).md"),
    ])
    # an undated PDF copy numbering its articles in Arabic digits, with a text of its own
    pdf = fake_doc("x/行政复议法.pdf", "中华人民共和国行政复议法", fmt="pdf", texts=("不同。", "也不同。"))
    pdf = replace(pdf, units=[replace(u, number=f"第{i + 1}条") for i, u in enumerate(pdf.units)])
    docs = assign_status([old, new, pdf])
    index = VersionIndex(docs)
    assert [d.version_date for d in index.versions_of(docs[1])] == ["2023-09-01", "2017-09-01", ""]
    history = index.history(docs[1], "第二条")
    assert [(d.version_date, u.number if u else None) for d, u in history] == [("2017-09-01", "第二条"), ("", "第2条")]
    # the 2017 text has 43 articles, the 2023 one 90: article 90 has no older version
    assert [(d.version_date, u) for d, u in index.history(docs[1], "第九十条")] == [("2017-09-01", None), ("", None)]
    # from an old version, history is the other old versions (never the current one)
    assert [d.version_date for d, _ in index.history(docs[0], "第二条")] == [""]


def test_version_index_keeps_provinces_and_duplicates_apart():
    sh = fake_doc("DLC/上海/数据条例(2021-11-25).md", "数据条例", date="2021-11-25", region="上海市")
    zj = fake_doc("DLC/浙江/数据条例(2022-02-18).md", "数据条例", date="2022-02-18", region="浙江省")
    a = read("经济法/广告法(2021-04-29).md")
    b = read("行政法/广告法(2021-04-29).md")
    docs = assign_status([sh, zj, a, b])
    index = VersionIndex(docs)
    assert version_group(docs[0]) != version_group(docs[1])
    assert index.history(docs[1], "第一条") == [] and index.history(docs[0], "第一条") == []
    duplicate = next(d for d in docs if d.status == "duplicate")
    assert index.versions_of(duplicate) == [] and len(index.groups) == 3


def test_a_citation_names_the_current_version_when_an_older_one_has_the_same_label(default_documents):
    """`中华人民共和国行政复议法第三十条` is in the 2017 and the 2023 text; the 结论's basis
    links and `resolve_ref` go through `UnitTable.refs`, which must give the current one
    (the 2017 file comes first and used to win)."""
    from assistant.pipeline import UnitTable

    table = UnitTable.build(default_documents)
    unit_id = table.refs["中华人民共和国行政复议法第三十条"]
    doc, unit = table.units[unit_id]
    assert doc.status == "current" and unit.text.startswith("行政复议机关收到行政复议申请后，应当在五日内进行审查")
    assert unit_id == table.resolve("中华人民共和国行政复议法", "第三十条")


def test_a_text_copy_of_a_local_regulation_meets_its_markdown_as_a_version(tmp_path):
    """The Markdown reader places 台州市企业信用促进条例 in 浙江省台州市 (its folder and issuer);
    a copy from another reader had no region, so the two never met and both were current.
    The congresses of its preamble place the copy the same way: it is a duplicate."""
    from corpus.ingest import finalize, read_document

    source = LAWREF / "DLC/浙江地方法规/地方性法规/浙江/台州市企业信用促进条例(2020-04-02).md"
    header, body = source.read_text(encoding="utf-8").split("<!-- INFO END -->", 1)
    events = [line for line in header.splitlines()[1:] if line.strip()]
    copy = tmp_path / "台州市企业信用促进条例.txt"
    copy.write_text("台州市企业信用促进条例\n" + "\n".join(f"（{e.strip()}）" for e in events) + "\n" + body, encoding="utf-8")
    text = read_document(copy)
    assert (text.doc_type, text.region) == ("地方性法规", "浙江省台州市")
    out = {d.source_format: d for d in finalize([read(source.relative_to(LAWREF).as_posix()), text])}
    assert (out["markdown"].status, out["text"].status) == ("current", "duplicate")


def _repeal_set(new_text: str, *, old_date="2010-07-30", new_date="2020-12-24", old_region="浙江省", new_region="浙江省"):
    old = fake_doc("a/old.md", "浙江省信息化促进条例", date=old_date, region=old_region)
    new = fake_doc("a/new.md", "浙江省数字经济促进条例", date=new_date, region=new_region, texts=("甲。", new_text))
    return apply_repeals(assign_status([old, new]))


@pytest.mark.parametrize(
    "clause",
    [
        "本条例自2021年3月1日起施行。《浙江省信息化促进条例》同时废止。",
        # a judicial interpretation's way: the document number in brackets before 同时废止
        "本规则施行后，《浙江省信息化促进条例》（浙江省人民代表大会常务委员会公告第30号）同时废止；",
        "《浙江省信息化促进条例》予以废止。",
    ],
)
def test_an_instrument_another_one_repeals_is_superseded_and_says_by_which_article(clause):
    """浙江省数字经济促进条例第六十二条 ends 浙江省信息化促进条例, which has no newer version of
    its own: without the repeal it stayed `current`, searched and cited as in force."""
    old, new = _repeal_set(clause)
    assert (old.status, old.repealed_by) == ("superseded", "《浙江省数字经济促进条例》第二条")
    assert (new.status, new.repealed_by) == ("current", "")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("《浙江省信息化促进条例》第十条同时废止。", "only one article of it"),
        ("《浙江省信息化促进条例》中与本条例不一致的规定废止。", "only what conflicts"),
        ("依照《浙江省信息化促进条例》的规定予以处罚。", "no repeal at all"),
    ],
)
def test_a_partial_repeal_or_a_mere_mention_ends_nothing(text, why):
    old, _ = _repeal_set(text)
    assert (old.status, old.repealed_by) == ("current", ""), why


@pytest.mark.parametrize(
    ("dates", "regions", "why"),
    [
        (("2022-01-01", "2020-12-24"), ("浙江省", "浙江省"), "the named text is newer than the repeal"),
        (("", "2020-12-24"), ("浙江省", "浙江省"), "the named text's date is unknown"),
        (("2010-07-30", ""), ("浙江省", "浙江省"), "the repealing text's date is unknown"),
        (("2010-07-30", "2020-12-24"), ("浙江省", "江苏省"), "another region's instrument"),
    ],
)
def test_a_repeal_needs_a_later_dated_text_of_the_same_region(dates, regions, why):
    old, _ = _repeal_set("《浙江省信息化促进条例》同时废止。", old_date=dates[0], new_date=dates[1],
                         old_region=regions[0], new_region=regions[1])
    assert old.repealed_by == "", why


def test_several_titles_in_one_clause_and_an_own_earlier_text_left_to_versions():
    """市场主体登记管理条例第五十五条 names four instruments at once; 信访条例 (2005)
    repealing the 1995 信访条例 is a version of the same instrument, which `assign_status`
    already orders (the repeal must not touch the newer text of the same title)."""
    text = "《中华人民共和国公司登记管理条例》、《中华人民共和国企业法人登记管理条例》和《农民专业合作社登记管理条例》同时废止。"
    assert [t for t, _ in repeal_clauses(fake_doc("x.md", "条例", texts=(text,)))] == [
        "中华人民共和国公司登记管理条例", "中华人民共和国企业法人登记管理条例", "农民专业合作社登记管理条例"]
    own_old = fake_doc("b/1995.md", "信访条例", date="1995-10-28")
    own_new = fake_doc("b/2005.md", "信访条例", date="2005-01-10", texts=("甲。", "1995年10月28日发布的《信访条例》同时废止。"))
    docs = apply_repeals(assign_status([own_old, own_new]))
    assert [(d.status, d.repealed_by) for d in docs] == [("superseded", ""), ("current", "")]


def test_repealed_instruments_of_default_are_not_current(default_documents):
    """The shipped collection holds instruments later ones repealed (个体工商户条例 by
    促进个体工商户发展条例, 公司登记管理条例 by 市场主体登记管理条例): none may be current."""
    by_title = {d.title: d for d in default_documents if d.status != "duplicate"}
    for title, repealer in [("个体工商户条例", "《促进个体工商户发展条例》第三十九条"),
                            ("中华人民共和国公司登记管理条例", "《中华人民共和国市场主体登记管理条例》第五十五条"),
                            ("浙江省信息化促进条例", "《浙江省数字经济促进条例》第六十二条")]:
        assert (by_title[title].status, by_title[title].repealed_by) == ("superseded", repealer)
    assert by_title["促进个体工商户发展条例"].status == "current"
    trial = by_title["人民检察院刑事诉讼规则（试行）"]  # 《…（试行）》（高检发释字〔2012〕2号）同时废止
    assert (trial.status, trial.repealed_by) == ("superseded", "《人民检察院刑事诉讼规则》第六百八十四条")
