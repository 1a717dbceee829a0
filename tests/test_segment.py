"""Segmentation: legal terms stay whole, short names map to titles, no dictionary leaks."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from corpus.records import Document, Unit
from indexer.segment import (
    Segmenter,
    SegmenterSettings,
    UserDictionary,
    build_user_dictionary,
    defined_terms,
    derived_short_name,
    title_core,
)

REPO = Path(__file__).resolve().parents[1]


def law(title: str, *articles: str, doc_id: str = "") -> Document:
    doc_id = doc_id or title
    units = [
        Unit(unit_id=f"{doc_id}:article:{i}", doc_id=doc_id, kind="article", text=text, number=f"第{i + 1}条")
        for i, text in enumerate(articles)
    ]
    return Document(doc_id=doc_id, title=title, doc_type="法律", source_path=f"{title}.md", source_format="markdown", units=units)


@pytest.fixture(scope="module")
def collection() -> list[Document]:
    return [
        law("中华人民共和国个人信息保护法", "本法所称个人信息处理者，是指在个人信息处理活动中自主决定处理目的、处理方式的组织、个人。"),
        law("中华人民共和国数据安全法", "本法所称数据处理，包括数据的收集、存储、使用、加工、传输、提供、公开等。"),
        law("中华人民共和国网络安全法", "本法下列用语的含义：\n（一）网络产品提供者，是指提供网络产品的组织。"),
        law("中华人民共和国行政诉讼法", "公民、法人或者其他组织认为行政机关的行政行为侵犯其合法权益，有权依照本法向人民法院提起诉讼。"),
        law("中华人民共和国国家赔偿法", "赔偿义务机关应当自收到申请之日起两个月内作出是否赔偿的决定。"),
        law("关键信息基础设施安全保护条例", "关键信息基础设施运营者应当建立健全网络安全保护制度。"),
    ]


@pytest.fixture(scope="module")
def segmenter(collection) -> Segmenter:
    return Segmenter(build_user_dictionary(collection), SegmenterSettings(mode="precise"))


def test_short_name_rule_is_first_character_of_each_two_character_word():
    assert derived_short_name("数据安全法") == "数安法"
    assert derived_short_name("网络安全法") == "网安法"
    assert derived_short_name("行政诉讼法") == "行诉法"
    assert derived_short_name("国家赔偿法") == "国赔法"
    assert derived_short_name("个人信息保护法") is None  # six characters: curated table instead
    assert derived_short_name("行政法规制定程序条例") is None
    assert title_core("中华人民共和国数据安全法") == "数据安全法"


def test_dictionary_has_titles_short_names_defined_terms_and_parties(collection):
    dictionary = build_user_dictionary(collection)
    assert {"个人信息保护法", "数据安全法", "关键信息基础设施安全保护条例"} <= set(dictionary.words)
    assert dictionary.aliases["数安法"] == "数据安全法"
    assert dictionary.aliases["网安法"] == "网络安全法"
    assert dictionary.aliases["行诉法"] == "行政诉讼法"
    assert dictionary.aliases["国赔法"] == "国家赔偿法"
    assert dictionary.aliases["个保法"] == "个人信息保护法"
    assert {"个人信息处理者", "网络产品提供者", "受托方", "关键信息基础设施运营者"} <= set(dictionary.words)


def test_defined_terms_from_both_definition_styles():
    assert "个人信息处理者" in defined_terms("本法所称个人信息处理者，是指自主决定处理目的的组织。")
    assert "网络运营者" in defined_terms("（三）网络运营者，是指网络的所有者、管理者和网络服务提供者。")


def test_ambiguous_derived_short_name_is_dropped():
    dictionary = build_user_dictionary([law("中华人民共和国数据安全法"), law("数码安装法")])
    assert "数安法" not in dictionary.aliases


@pytest.mark.parametrize(
    "term", ["个人信息处理者", "关键信息基础设施运营者", "受托方", "赔偿义务机关", "个人信息保护法", "第十三条", "第二十条之一"]
)
def test_multi_character_legal_terms_stay_whole(segmenter, term):
    tokens = segmenter.tokenize(f"依照规定，{term}应当承担责任")
    assert term in tokens
    # precise mode: the term is not additionally broken into pieces
    assert not any(t != term and t in term and len(t) > 1 for t in tokens)


def test_search_mode_keeps_whole_term_and_adds_its_parts(collection):
    search = Segmenter(build_user_dictionary(collection), SegmenterSettings(mode="search"))
    tokens = search.tokenize("个人信息处理者应当履行义务")
    assert "个人信息处理者" in tokens and "个人" in tokens


def test_short_names_in_queries_become_the_title(segmenter):
    assert segmenter.tokenize("个保法第十三条") == ["个人信息保护法", "第十三条"]
    assert "数据安全法" in segmenter.tokenize("数安法规定了什么")
    title_tokens = segmenter.tokenize("中华人民共和国个人信息保护法")
    assert "个人信息保护法" in title_tokens


def test_same_segmentation_for_documents_and_queries_with_normalisation(segmenter):
    # full-width digits/letters and case normalise; stopwords and punctuation go
    assert segmenter.tokenize("ＡＰＰ运营者的义务？") == segmenter.tokenize("app运营者义务")
    assert "的" not in segmenter.tokenize("个人信息处理者的义务")


def test_dictionaries_do_not_leak_between_segmenters_or_into_global_jieba():
    import jieba

    one = Segmenter(UserDictionary(words=["甲乙丙丁方"]), SegmenterSettings(mode="precise"))
    other = Segmenter(UserDictionary(), SegmenterSettings(mode="precise"))
    assert "甲乙丙丁方" in one.tokenize("甲乙丙丁方签订合同")
    assert "甲乙丙丁方" not in other.tokenize("甲乙丙丁方签订合同")
    assert "甲乙丙丁方" not in jieba.lcut("甲乙丙丁方签订合同", HMM=False)


def test_construction_and_import_do_no_work():
    segmenter = Segmenter(UserDictionary(words=["个人信息处理者"]))
    assert segmenter._tokenizer is None
    code = "import sys, indexer; print(sorted(m for m in ('jieba', 'torch', 'faiss', 'sentence_transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="segmentation mode"):
        Segmenter(settings=SegmenterSettings(mode="fast"))


def test_short_name_inside_another_title_is_neither_alias_nor_mapped_inside_words():
    docs = [law("中华人民共和国防沙治沙法"), law("中华人民共和国职业病防治法"), law("中华人民共和国数据安全法")]
    dictionary = build_user_dictionary(docs)
    assert derived_short_name("防沙治沙法") == "防治法"
    assert "防治法" not in dictionary.aliases  # occurs inside 职业病防治法
    search = Segmenter(dictionary, SegmenterSettings(mode="search"))
    tokens = search.tokenize("中华人民共和国职业病防治法")
    assert "职业病防治法" in tokens and "防沙治沙法" not in tokens
    # an alias is mapped when it is a whole word, in either mode
    assert "数据安全法" in search.tokenize("数安法第十条") and "数安法" not in search.tokenize("数安法第十条")


def test_worker_processes_tokenise_exactly_like_one_process(monkeypatch):
    """Bulk tokenising in forked workers (what a large BM25 build does) gives the same
    tokens in the same order as one process, with the collection's own dictionary."""
    from corpus.markdown import read_lawrefbook
    from indexer import segment

    laws = ["行政法/数据安全法(2021-06-10).md", "行政法/个人信息保护法(2021-08-20).md", "宪法相关法/国家赔偿法(2012-10-26).md"]
    docs = [read_lawrefbook(REPO / "data/lawrefbook" / rel) for rel in laws]
    texts = [unit.text for doc in docs for unit in doc.units] * 3
    segmenter = Segmenter(build_user_dictionary(docs))
    monkeypatch.setattr(segment, "PARALLEL_MIN_TEXTS", 10)
    monkeypatch.setattr(segment, "PARALLEL_CHUNK", 50)
    parallel = segmenter.tokenize_many(texts, workers=2)
    assert parallel == [segmenter.tokenize(t) for t in texts]
    assert any("数据处理者" in tokens or "个人信息处理者" in tokens for tokens in parallel), "the user dictionary reached the workers"
    monkeypatch.setenv("FAGUI_TOKENIZE_WORKERS", "0")
    with pytest.raises(ValueError, match="FAGUI_TOKENIZE_WORKERS"):
        segment.tokenize_workers()
