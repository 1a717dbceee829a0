"""Direct article lookup on the real `default` collection: names, references, exact units.

Expected texts are read from the LawRefBook Markdown files themselves (a few lines of
independent parsing below), not from the product's parser, so a structuring bug
cannot make a wrong answer look right.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.lookup import (
    ArticleRef,
    LawCatalog,
    article_paragraphs,
    is_lookup_question,
    lookup,
    parse_article_refs,
)
from corpus.records import Document, Unit
from corpus.versions import title_key

REPO = Path(__file__).resolve().parents[1]
LAWREFBOOK = REPO / "data" / "lawrefbook"
DSL = "中华人民共和国数据安全法"
PIPL = "中华人民共和国个人信息保护法"
CSL = "中华人民共和国网络安全法"
ALL = "中华人民共和国行政诉讼法"


@pytest.fixture(scope="module")
def catalog(default_documents) -> LawCatalog:
    return LawCatalog(default_documents)


def markdown_article(relative: str, label: str) -> list[str]:
    """Paragraphs of article `label` as written in a LawRefBook Markdown file."""
    lines = (LAWREFBOOK / relative).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(label + " ") or line.startswith(label + "\u3000"))
    paragraphs = [lines[start][len(label):].strip()]
    for line in lines[start + 1 :]:
        if re.match(r"^(#|第[一二三四五六七八九十百千零]+条[\s\u3000])", line) or line.startswith("<!--"):
            break
        if line.strip():
            paragraphs.append(line.strip())
    return paragraphs


# ---------------------------------------------------------------- law names


@pytest.mark.parametrize(
    "name, title",
    [
        ("中华人民共和国数据安全法", DSL),
        ("数据安全法", DSL),
        ("《数据安全法》", DSL),
        ("《中华人民共和国数据安全法》", DSL),
        ("数安法", DSL),  # derived: 数据|安全 → 数安法
        ("网安法", CSL),  # derived
        ("个保法", PIPL),  # conventional
        ("行诉法", ALL),
        ("国赔法", "中华人民共和国国家赔偿法"),
        ("政采法", "中华人民共和国政府采购法"),
        ("招投标法", "中华人民共和国招标投标法"),
        ("民法典", "中华人民共和国民法典"),
        ("刑法", "中华人民共和国刑法"),
        ("行复法", "中华人民共和国行政复议法"),
    ],
)
def test_law_names_resolve(catalog, name, title):
    resolution = catalog.resolve(name)
    assert resolution.found and not resolution.ambiguous, resolution
    assert catalog.entry(resolution.law_ids[0]).title == title


def test_how_names_matched(catalog):
    names = catalog.names
    assert set(names["数安法"].values()) == {"derived"}
    assert set(names["个保法"].values()) == {"conventional"}
    assert set(names[title_key("中华人民共和国数据安全法")].values()) == {"title"}
    assert not catalog.resolve("数据保护法").found


def test_duplicates_are_not_laws_of_their_own(default_documents, catalog):
    duplicates = {d.doc_id for d in default_documents if d.status == "duplicate"}
    assert duplicates, "the default collection has PDF copies of Markdown laws"
    in_catalog = {d.doc_id for e in catalog.entries.values() for d in e.versions}
    assert not duplicates & in_catalog
    entry = catalog.entry(catalog.resolve("行政复议法").law_ids[0])
    assert [d.version_date for d in entry.versions] == ["2023-09-01", "2017-09-01"]
    assert [d.status for d in entry.versions] == ["current", "superseded"]


def _doc(title: str, doc_type: str = "法律", region: str = "", articles: int = 3, doc_id: str = "") -> Document:
    doc_id = doc_id or f"id{abs(hash((title, doc_type, region))) % 10**8}"
    units = [
        Unit(unit_id=f"{doc_id}:article:{i}", doc_id=doc_id, kind="article", text=f"{title}第{i + 1}条的内容。",
             number=f"第{'一二三四五六七八九十'[i]}条", ordinal=i + 1)
        for i in range(articles)
    ]
    return Document(doc_id=doc_id, title=title, doc_type=doc_type, source_path=f"{doc_id}.md",
                    source_format="markdown", units=units, region=region, version_date="2020-01-01")


def test_derived_short_name_only_when_unambiguous():
    catalog = LawCatalog([_doc("中华人民共和国数据安全法"), _doc("中华人民共和国数字安全法"), _doc("中华人民共和国网络安全法")])
    assert not catalog.resolve("数安法").found  # 数据安全法 and 数字安全法 both give 数安法
    assert catalog.resolve("网安法").found


def test_ambiguous_name_prefers_national_law_then_lists_ties():
    national = _doc("中华人民共和国测试法", doc_id="nat")
    local = _doc("测试法", doc_type="地方性法规", region="上海市", doc_id="sh")
    catalog = LawCatalog([local, national])
    resolution = catalog.resolve("测试法")
    assert not resolution.ambiguous and catalog.entry(resolution.law_ids[0]).current.doc_id == "nat"

    shanghai = _doc("数据条例", "地方性法规", "上海市", doc_id="sh")
    beijing = _doc("数据条例", "地方性法规", "北京市", doc_id="bj")
    tie = LawCatalog([shanghai, beijing])
    resolution = tie.resolve("数据条例")
    assert resolution.ambiguous and len(resolution.law_ids) == 2 and "上海市" in resolution.note and "北京市" in resolution.note
    result = lookup("数据条例第二条", tie)
    assert {m.doc.doc_id for m in result.matches} == {"sh", "bj"}  # all candidates
    assert all(m.found and m.note for m in result.matches)
    reversed_input = lookup("数据条例第二条", LawCatalog([beijing, shanghai]))
    assert [m.doc.doc_id for m in reversed_input.matches] == [m.doc.doc_id for m in result.matches]


# ---------------------------------------------------------------- reference parsing


def _labels(refs: list[ArticleRef]) -> list[str]:
    return [r.label for r in refs]


@pytest.mark.parametrize(
    "text, law_text, labels",
    [
        ("数据安全法第四十五条", "数据安全法", ["第四十五条"]),
        ("《个人信息保护法》第三十四条、第三十五条", "个人信息保护法", ["第三十四条", "第三十五条"]),
        ("数安法45条", "数安法", ["第四十五条"]),
        ("民法典第1165条", "民法典", ["第一千一百六十五条"]),
        ("行政诉讼法第二十六条第二款", "行政诉讼法", ["第二十六条第二款"]),
        ("刑法第二百五十三条之一", "刑法", ["第二百五十三条之一"]),
        ("网络安全法第十条至第十二条", "网络安全法", ["第十条", "第十一条", "第十二条"]),
        ("网络安全法第10-12条", "网络安全法", ["第十条", "第十一条", "第十二条"]),
        ("网络安全法第十至十二条", "网络安全法", ["第十条", "第十一条", "第十二条"]),
        ("个人信息保护法第三十四、三十五条", "个人信息保护法", ["第三十四条", "第三十五条"]),
        ("数据安全法第二十七条和第二十九条及第三十条", "数据安全法", ["第二十七条", "第二十九条", "第三十条"]),
        ("网络安全法第二十一条第（三）项", "网络安全法", ["第二十一条第（三）项"]),
        ("网络安全法第二十二条第三款、第四十一条至第四十三条", "网络安全法",
         ["第二十二条第三款", "第四十一条", "第四十二条", "第四十三条"]),
        ("ＰＩＰＬ？个人信息保护法第１３条", "个人信息保护法", ["第十三条"]),
        ("行政诉讼法第二十六条第一款、第三款", "行政诉讼法", ["第二十六条第一款", "第二十六条第三款"]),
        ("行政诉讼法第二十六条第一款至第三款", "行政诉讼法", ["第二十六条第一款", "第二十六条第二款", "第二十六条第三款"]),
        ("刑法第二百五十三条之一第一款第二项", "刑法", ["第二百五十三条之一第一款第（二）项"]),
    ],
)
def test_parse_references(catalog, text, law_text, labels):
    refs = parse_article_refs(text, catalog)
    assert _labels(refs) == labels
    assert {r.law_text for r in refs} == {law_text}
    assert all(r.law is not None for r in refs)


def test_parse_without_catalog_keeps_the_written_name():
    refs = parse_article_refs("请问《个人信息保护法》第三十四条、第三十五条")
    assert [(r.law_text, r.law, r.article) for r in refs] == [
        ("个人信息保护法", None, "第三十四条"), ("个人信息保护法", None, "第三十五条")]
    question = "依照数据安全法第四十五条处罚"
    ref = parse_article_refs(question)[0]
    assert question[ref.span[0] : ref.span[1]] == "第四十五条"
    assert question[ref.law_span[0] : ref.law_span[1]] == "数据安全法"


def test_numbers_that_are_not_articles():
    assert parse_article_refs("第三人对第一审判决不服的") == []
    assert parse_article_refs("罚款五十万元，2021年9月1日起施行") == []


def test_relative_and_carried_law(catalog):
    refs = parse_article_refs("违反本法第二十七条、第二十九条规定", catalog, context_law=DSL)
    assert [(r.law, r.article, r.relative) for r in refs] == [(DSL, "第二十七条", True), (DSL, "第二十九条", True)]
    assert all(r.law is None for r in parse_article_refs("本法第二十七条", catalog))  # no context, no guess
    carried = parse_article_refs("数安法第45条和网安法第64条，还有第65条呢？", catalog)
    assert [(r.law, r.article) for r in carried] == [(DSL, "第四十五条"), (CSL, "第六十四条"), (CSL, "第六十五条")]
    anaphor = parse_article_refs("个人信息保护法第十三条，以及该法第十四条", catalog)
    assert [r.law for r in anaphor] == [PIPL, PIPL]
    with pytest.raises(ValueError, match="carry"):
        parse_article_refs("第一条", catalog, carry="paragraph")


def test_unknown_law_is_not_replaced_by_a_similar_one(catalog):
    refs = parse_article_refs("网络数据安全法第一条", catalog)
    assert [(r.law_text, r.law) for r in refs] == [("网络数据安全法", None)]
    refs = parse_article_refs("请问数据保护法第一条", catalog)
    assert [(r.law_text, r.law) for r in refs] == [("数据保护法", None)]


# ---------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    "question, title, markdown, label",
    [
        ("数据安全法第四十五条", DSL, "行政法/数据安全法(2021-06-10).md", "第四十五条"),
        ("数安法45条", DSL, "行政法/数据安全法(2021-06-10).md", "第四十五条"),
        ("《个人信息保护法》第三十五条", PIPL, "行政法/个人信息保护法(2021-08-20).md", "第三十五条"),
        ("网安法第六十四条", CSL, "行政法/网络安全法(2016-11-07).md", "第六十四条"),
        ("行诉法第二十六条", ALL, "诉讼与非诉讼程序法/行政诉讼法(2017-06-27).md", "第二十六条"),
    ],
)
def test_lookup_returns_the_exact_article(catalog, question, title, markdown, label):
    result = lookup(question, catalog)
    assert result.is_lookup
    [match] = result.matches
    assert match.found and match.law == title and match.unit.number == label
    assert article_paragraphs(match.unit.text) == markdown_article(markdown, label)


def test_article_text_examples(catalog):
    match = lookup("数据安全法第四十五条", catalog).matches[0]
    assert match.unit.text.startswith("开展数据处理活动的组织、个人不履行本法第二十七条")
    match = lookup("民法典第1165条", catalog).matches[0]
    assert match.unit.number == "第一千一百六十五条"
    assert match.unit.text.startswith("行为人因过错侵害他人民事权益造成损害的，应当承担侵权责任。")
    match = lookup("刑法第二百五十三条之一", catalog).matches[0]
    assert match.unit.number == "第二百五十三条之一" and "公民个人信息" in match.unit.text
    matches = lookup("《个人信息保护法》第三十四条、第三十五条", catalog).matches
    assert [m.unit.number for m in matches] == ["第三十四条", "第三十五条"]
    assert matches[0].unit.text.startswith("国家机关为履行法定职责处理个人信息，应当依照法律、行政法规规定的权限、程序进行")


def test_paragraph_and_item_selection(catalog):
    expected = markdown_article("诉讼与非诉讼程序法/行政诉讼法(2017-06-27).md", "第二十六条")
    match = lookup("行政诉讼法第二十六条第二款", catalog).matches[0]
    assert match.found and match.selected_text == expected[1]
    assert match.selected_text.startswith("经复议的案件，复议机关决定维持原行政行为的")
    assert match.paragraphs == expected and match.unit.text.count("\n") == len(expected) - 1  # whole article kept

    item = lookup("网络安全法第二十一条第（三）项", catalog).matches[0]
    assert item.found and item.selected_text.startswith("（三）采取监测、记录网络运行状态")
    assert len(item.paragraphs) == 1  # five 项 inside one 款, not six 款

    missing = lookup("数据安全法第四十五条第三款", catalog).matches[0]
    assert missing.status == "paragraph_not_found" and "只有2款" in missing.message


def test_missing_article_says_so(catalog):
    [match] = lookup("数据安全法第九十九条", catalog).matches
    assert match.status == "article_not_found" and match.unit is None
    assert match.article_count == 55 and "共55条" in match.message and "第五十五条" in match.message
    assert lookup("数据安全法第九十九条", catalog).evidence() == []


def test_missing_law_says_so_and_suggests(catalog):
    [match] = lookup("数据保护法第一条", catalog).matches
    assert match.status == "law_not_found" and match.unit is None
    assert "数据保护法" in match.message
    # Near titles share the name's distinctive part (数据): with every national law in
    # `default`, 个人信息保护法 shares only the common 保护法 and is no longer among them.
    assert match.suggestions[0] == DSL and all("数据" in s or "保护法" in s for s in match.suggestions)
    [match] = lookup("网络数据安全法第一条", catalog).matches
    assert match.status == "law_not_found" and DSL in match.suggestions


def test_history_lists_superseded_versions(catalog):
    result = lookup("行政复议法第一条", catalog)
    [match] = result.matches
    assert match.found and match.doc.version_date == "2023-09-01" and match.doc.status == "current"
    assert [(h.version_date, h.status, h.unit is not None) for h in match.history] == [("2017-09-01", "superseded", True)]
    evidence = result.evidence()
    assert [(e.origin, e.version_date) for e in evidence] == [("lookup", "2023-09-01"), ("history", "2017-09-01")]
    assert evidence[0].ref == "中华人民共和国行政复议法第一条"
    assert lookup("行政复议法第一条", catalog).to_dict() == result.to_dict()  # deterministic


def test_lookup_question_versus_mention(catalog):
    assert is_lookup_question("数安法45条是什么？", catalog=catalog)
    assert is_lookup_question("请问《个人信息保护法》第三十四条、第三十五条的内容", catalog=catalog)
    assert not is_lookup_question("个人信息处理者委托处理个人信息要注意什么", catalog=catalog)
    mention = lookup("违反数据安全法第二十七条的企业要承担什么责任？", catalog)
    assert not mention.is_lookup
    assert [m.unit.number for m in mention.found] == ["第二十七条"]  # still resolved
    no_law = lookup("第十条规定了什么", catalog)
    assert [m.status for m in no_law.matches] == ["no_law"]
