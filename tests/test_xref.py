"""Cross-references and duty ↔ liability pairs on the real `default` collection.

Every expectation below was checked against the statute text (quoted in the
assertions), so a test fails if the index links something the text does not say.
"""
from __future__ import annotations

import time

import pytest

from assistant.lookup import LawCatalog
from assistant.xref import CrossRefIndex, _is_violation, is_liability_article
from corpus.catalog import load_collection

DSL = "中华人民共和国数据安全法"
PIPL = "中华人民共和国个人信息保护法"
CSL = "中华人民共和国网络安全法"


@pytest.fixture(scope="module")
def index(default_documents) -> CrossRefIndex:
    return CrossRefIndex.build(default_documents)


def article(index: CrossRefIndex, law: str, label: str, version: str = ""):
    """The unit of `law` `label` (current version unless a version date is given)."""
    entry = index.catalog.entry(index.catalog.resolve(law).law_ids[0])
    doc = next(d for d in entry.versions if d.version_date == version) if version else entry.current
    return index.catalog.articles_of(doc)[label]


def numbers(index: CrossRefIndex, unit_ids) -> list[str]:
    return [index.unit(u).number for u in unit_ids]


def test_same_law_references_and_duties(index):
    liability = article(index, DSL, "第四十五条")
    assert liability.text.startswith("开展数据处理活动的组织、个人不履行本法第二十七条、第二十九条、第三十条规定的数据安全保护义务")
    assert numbers(index, index.links(liability.unit_id)) == ["第二十七条", "第二十九条", "第三十条"]
    refs = [r for r in index.outgoing(liability.unit_id) if r.kind == "article"]
    assert all(r.violation and r.target_doc == liability.doc_id for r in refs)
    assert is_liability_article(liability) and index.is_liability(liability.unit_id)
    duties = index.duties_for(liability.unit_id)
    assert [(index.unit(d.duty).number, d.kind) for d in duties] == [
        ("第二十七条", "explicit"), ("第二十九条", "explicit"), ("第三十条", "explicit")]

    duty = article(index, DSL, "第二十七条")
    assert duty.text.startswith("开展数据处理活动应当依照法律、法规的规定，建立健全全流程数据安全管理制度")
    sanctions = index.liability_for(duty.unit_id)
    assert (index.unit(sanctions[0].liability).number, sanctions[0].kind) == ("第四十五条", "explicit")
    assert [index.unit(link.liability).number for link in sanctions if link.kind == "explicit"] == ["第四十五条"]
    assert [r.source for r in index.incoming(duty.unit_id)] == [liability.unit_id]
    assert index.liability_for(duty.unit_id, include_general=False) == sanctions[:1]


def test_lists_ranges_and_paragraph_targets(index):
    unit = article(index, CSL, "第六十四条")
    assert "违反本法第二十二条第三款、第四十一条至第四十三条规定" in unit.text and "违反本法第四十四条规定" in unit.text
    refs = [r for r in index.outgoing(unit.unit_id) if r.kind == "article"]
    assert [(r.article, r.paragraph) for r in refs] == [
        ("第二十二条", 3), ("第四十一条", None), ("第四十二条", None), ("第四十三条", None), ("第四十四条", None)]
    assert numbers(index, [d.duty for d in index.duties_for(unit.unit_id)]) == [
        "第二十二条", "第四十一条", "第四十二条", "第四十三条", "第四十四条"]


def test_paragraph_references_stay_inside_the_article(index):
    unit = article(index, "中华人民共和国刑法", "第二百五十三条之一")
    assert "依照前款的规定从重处罚" in unit.text and "单位犯前三款罪的" in unit.text
    paragraphs = [r for r in index.outgoing(unit.unit_id) if r.kind == "paragraph"]
    assert [(r.text, r.paragraphs) for r in paragraphs] == [("前款", (1,)), ("第一款", (1,)), ("前三款", (1, 2, 3))]
    assert all(not r.target for r in paragraphs) and index.links(unit.unit_id) == []


def test_penalty_references_are_not_duties(index):
    unit = article(index, "中华人民共和国电子商务法", "第七十六条")
    assert "依照本法第八十一条第一款的规定处罚" in unit.text
    [ref] = [r for r in index.outgoing(unit.unit_id) if r.article == "第八十一条"]
    assert ref.target and not ref.violation
    assert index.duties_for(unit.unit_id) == []
    assert _is_violation("违反本法规定，依照本法第六十四条的规定处罚", 11, 18) is False
    assert _is_violation("未依照本条例第十条规定履行登记手续", 3, 10) is True
    assert _is_violation("有本法第十六条、第十七条所列行为之一，从事犯罪活动的", 1, 8) is True
    assert _is_violation("有本法第十七条第四项、第五项规定情形的", 1, 8) is False


def test_pipl_article_21_has_only_law_wide_liability(index):
    duty = article(index, PIPL, "第二十一条")
    assert duty.text.startswith("个人信息处理者委托处理个人信息的，应当与受托人约定委托处理的目的")
    general66 = article(index, PIPL, "第六十六条")
    # what 第六十六条 really says: breaches of 本法 in general, no article numbers
    assert general66.text.startswith("违反本法规定处理个人信息，或者处理个人信息未履行本法规定的个人信息保护义务的")
    assert [r for r in index.outgoing(general66.unit_id) if r.kind in ("article", "external")] == []
    links = index.liability_for(duty.unit_id)
    assert links and all(link.kind == "general" for link in links)  # no article cites 第二十一条 by number
    assert {"第六十六条", "第七十一条"} <= set(numbers(index, [link.liability for link in links]))
    assert index.incoming(duty.unit_id) == []
    assert index.duties_for(general66.unit_id) == [] and index.general_scope(general66.unit_id) == "违反本法规定"
    assert index.liability_for(duty.unit_id, include_general=False) == []


def test_cross_law_references_resolve(index):
    unit = article(index, "网络数据安全管理条例", "第二条")
    [ref] = [r for r in index.outgoing(unit.unit_id) if r.kind == "external"]
    assert ref.text == "《中华人民共和国个人信息保护法》第三条第二款"
    assert ref.law == PIPL and ref.paragraph == 2 and index.unit(ref.target).number == "第三条"

    law_refs = [r for r in index.outgoing(article(index, "关键信息基础设施安全保护条例", "第一条").unit_id) if r.kind == "law"]
    csl_doc = index.catalog.entry(index.catalog.resolve(CSL).law_ids[0]).current
    assert [(r.text, r.target_doc) for r in law_refs] == [("《中华人民共和国网络安全法》", csl_doc.doc_id)]

    target = article(index, "中华人民共和国刑法", "第二百五十三条之一")
    citing = {index.document_of(r.source).title for r in index.incoming(target.unit_id)}
    assert "最高人民法院、最高人民检察院关于办理侵犯公民个人信息刑事案件适用法律若干问题的解释" in citing


def test_references_follow_the_cited_version(index):
    # a 2007 regulation cites the 行政复议法 of its time, not the renumbered 2023 text
    unit = article(index, "中华人民共和国行政复议法实施条例", "第四十三条")
    [ref] = [r for r in index.outgoing(unit.unit_id) if r.kind == "external"]
    assert ref.text == "行政复议法第二十八条第一款第(一)项" and ref.item == 1
    assert ref.target_version == "2017-09-01"
    assert index.document_of(ref.target).version_date == "2017-09-01"
    # 本法 in the superseded 2017 text stays inside the 2017 text
    old = article(index, "中华人民共和国行政复议法", "第十五条", version="2017-09-01")
    targets = [r for r in index.outgoing(old.unit_id) if r.kind == "article"]
    assert targets and {index.document_of(r.target).version_date for r in targets} == {"2017-09-01"}


def test_unresolved_references_say_why(index):
    reasons = [r.reason for u in index._outgoing for r in index.unresolved(u)]
    assert any("刑事诉讼法" in reason for reason in reasons)  # not in the default collection
    assert all(reason for reason in reasons)


def test_build_is_deterministic(default_documents, index):
    again = CrossRefIndex.build(list(reversed(default_documents)), LawCatalog(default_documents))
    for unit in (article(index, CSL, "第六十四条"), article(index, "中华人民共和国刑法", "第二百五十三条之一"),
                 article(index, DSL, "第二十七条")):
        assert [r.to_dict() for r in again.outgoing(unit.unit_id)] == [r.to_dict() for r in index.outgoing(unit.unit_id)]
        assert [r.to_dict() for r in again.incoming(unit.unit_id)] == [r.to_dict() for r in index.incoming(unit.unit_id)]
        assert again.liability_for(unit.unit_id) == index.liability_for(unit.unit_id)
    assert again.stats.explicit_pairs == index.stats.explicit_pairs
    assert index.stats.articles > 5000 and index.stats.explicit_pairs > 100


def test_reference_cache_gives_the_same_index(default_documents, index, tmp_path):
    """Cold start reads parsed references from a cache file; the result must be identical
    to parsing, and a damaged cache must only cost time."""
    cache = tmp_path / "xref" / "refs.json"

    def snapshot(x: CrossRefIndex) -> tuple:
        stats = {k: v for k, v in x.stats.to_dict().items() if k not in ("build_seconds", "from_cache")}
        return (x._outgoing, x._incoming, x._explicit_liability, x._explicit_duties, x._general_by_doc,
                x._duty_units, x._liability, stats)

    written = CrossRefIndex.build(default_documents, cache=cache)
    assert cache.is_file() and not written.stats.from_cache
    read = CrossRefIndex.build(default_documents, cache=cache)
    assert read.stats.from_cache
    assert snapshot(read) == snapshot(written) == snapshot(index)
    cache.write_text('{"format": 1, "refs": ', encoding="utf-8")  # truncated by a crash
    repaired = CrossRefIndex.build(default_documents, cache=cache)
    assert not repaired.stats.from_cache and snapshot(repaired) == snapshot(index)
    assert CrossRefIndex.build(default_documents, cache=cache).stats.from_cache  # rewritten
    cache.write_text('{"format": 1, "refs": {}}', encoding="utf-8")  # an older version's cache: no article kinds
    older = CrossRefIndex.build(default_documents, cache=cache)
    assert not older.stats.from_cache and snapshot(older) == snapshot(index)


def test_evidence_records(index):
    unit = article(index, DSL, "第四十五条")
    evidence = index.evidence(unit.unit_id, origin="liability-pair")
    assert evidence.ref == f"{DSL}第四十五条" and evidence.origin == "liability-pair"
    assert "法律责任" in evidence.chapter


@pytest.mark.slow
def test_national_build_time(tmp_path_factory):
    home = tmp_path_factory.getbasetemp() / "fagui-home-national"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAGUI_HOME", str(home))
        documents = load_collection("national").documents
    started = time.perf_counter()
    index = CrossRefIndex.build(documents)
    elapsed = time.perf_counter() - started
    print(f"national cross-reference build: {elapsed:.1f}s", index.stats.to_dict())
    assert index.stats.articles > 60000
    assert index.stats.resolved > 10 * index.stats.unresolved
    assert elapsed < 30


def test_reference_cache_is_keyed_by_the_stored_documents(tmp_path, monkeypatch):
    from assistant.pipeline import xref_cache_path

    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))
    a, b, c = (tmp_path / n for n in "abc")
    for folder, text in ((a, '{"doc_id": "x"}\n'), (b, '{"doc_id": "x"}\n'), (c, '{"doc_id": "y"}\n')):
        folder.mkdir()
        (folder / "documents.jsonl").write_text(text, encoding="utf-8")
    assert xref_cache_path(a) == xref_cache_path(b) != xref_cache_path(c)
    assert xref_cache_path(a).parent == tmp_path / "home" / "cache" / "xref"
