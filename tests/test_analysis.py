"""Responsibility analysis from evidence (assistant.analysis) on real articles.

Retrieval is simulated: evidence = gold articles of the shared domain questions plus
distractor articles drawn with a fixed seed.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assistant.analysis import analyse, evidence_from_unit, liability_kinds, recognise_scenario, scholarship_paper, verify
from assistant.provisions import ROLE_FIRM, ROLE_GOV, ROLE_STAFF, is_liability_source
from assistant.records import Analysis, Party, Slot

SHARED = Path(__file__).resolve().parents[2] / "shared"
DOMAIN = SHARED / "eval/domain/domain_dev.jsonl"
SEED = 20240601


@pytest.fixture(scope="module")
def collection(default_documents):
    current = [d for d in default_documents if d.status == "current"]
    articles = {(d.title, u.number): (d, u) for d in current for u in d.articles()}
    paper = scholarship_paper(current)
    return articles, paper


@pytest.fixture(scope="module")
def questions():
    return [json.loads(line) for line in DOMAIN.read_text(encoding="utf-8").splitlines() if line.strip()]


def evidence_for(articles, keys):
    return [evidence_from_unit(*articles[key], rank=i) for i, key in enumerate(keys, start=1)]


def gold_keys(question):
    return [(g["law"], g["article"]) for g in question["gold"]]


def distractors(articles, exclude, n, rng):
    pool = sorted(k for k, (doc, _) in articles.items() if is_liability_source(doc.doc_type) and k not in exclude)
    return rng.sample(pool, n)


def all_refs(analysis: Analysis) -> list[str]:
    refs = [r for p in analysis.parties for r in p.basis] + [r for r in (x for m in analysis.remedies for x in m.basis)]
    for name in ("external", "internal", "individual", "fault_principle"):
        refs += [r for s in getattr(analysis, name) for r in s.basis]
    return refs


def test_scenario_recognises_lay_words():
    s = recognise_scenario("去年我的健康码被错弄成红码，过了一个星期才恢复成绿码，能要他们赔吗？")
    assert "算法或自动化决策错误" in s["harms"] and "红码" in s["harm_terms"]
    s = recognise_scenario("某市大数据局通过政府采购委托一家科技公司运维平台，工程师倒卖了市民信息。")
    assert s["actors"][:3] == [ROLE_GOV, ROLE_FIRM, ROLE_STAFF]
    assert "科技公司" in s[f"actor_terms:{ROLE_FIRM}"] and "市大数据局" in s[f"actor_terms:{ROLE_GOV}"]
    assert "数据泄露" in s["harms"] and {"委托", "政府采购"} <= set(s["relations"])


def test_dg001_names_contractor_and_staff_with_their_articles(collection, questions):
    articles, _ = collection
    question = next(q for q in questions if q["id"] == "dg-001")
    keys = gold_keys(question)
    keys += distractors(articles, set(keys), 4, random.Random(SEED))
    evidence = evidence_for(articles, keys)
    analysis = analyse(question["question"], evidence)

    contractor = [p for p in analysis.parties if "中华人民共和国个人信息保护法第六十六条" in p.basis and p.role == ROLE_FIRM]
    assert contractor and "科技公司" in contractor[0].question_actor
    assert "处一百万元以下罚款" in contractor[0].consequence
    staff = [p for p in analysis.parties if "中华人民共和国数据安全法第四十九条" in p.basis]
    assert staff and "政务处分" in liability_kinds(staff[0]) and "依法给予处分" in staff[0].consequence.split("；")
    assert staff[0].party.startswith("国家机关的直接负责的主管人员")
    assert "市大数据局" in staff[0].question_actor
    # contractor duties (数据安全法第四十条) are internal responsibility
    assert any("中华人民共和国数据安全法第四十条" in s.basis and "受托方" in s.statement for s in analysis.internal)
    # no fault rule among the evidence: that slot says 无依据
    assert "归责原则" in analysis.no_basis
    assert analysis.fault_principle == [Slot()] and analysis.fault_principle[0].no_basis
    # everything cited is evidence, and every citation says how binding it is
    refs = {e.ref for e in evidence}
    assert set(all_refs(analysis)) <= refs
    assert not analysis.removed_references
    cited = {c["ref"]: c for c in analysis.citations}
    assert set(all_refs(analysis)) == set(cited)
    dsl49 = cited["中华人民共和国数据安全法第四十九条"]
    assert dsl49["binding_force"].startswith("有约束力") and dsl49["status"] == "current"
    assert dsl49["source"].endswith(".md") and "国家机关不履行" in dsl49["text"]


def test_empty_evidence_gives_no_basis_everywhere():
    analysis = analyse("谁对健康码错误赋码负责？", [])
    assert analysis.no_basis == ["责任主体", "外部责任", "内部责任", "个人责任", "归责原则", "救济途径"]
    assert all(s.no_basis and not s.statement for s in analysis.external)


def test_verification_removes_a_bogus_reference(collection):
    articles, _ = collection
    evidence = evidence_for(articles, [("中华人民共和国数据安全法", "第四十九条")])
    analysis = analyse("国家机关泄露数据谁负责", evidence)
    bogus = "中华人民共和国数据安全法第九十九条"
    analysis.parties.append(Party("某公司", ROLE_FIRM, "行政责任", "处罚款", basis=[bogus]))
    analysis.external = [Slot(statement="编造的结论", basis=[bogus], no_basis=False)]
    analysis.parties[0].basis.append(bogus)
    checked = verify(analysis, evidence)
    assert checked.removed_references == [bogus]
    assert bogus not in all_refs(checked)
    assert all(p.party != "某公司" for p in checked.parties)
    assert checked.parties[0].basis == ["中华人民共和国数据安全法第四十九条"]
    assert "外部责任" in checked.no_basis and checked.external[0].no_basis


def test_verification_uses_the_index_resolver(collection):
    articles, _ = collection
    keys = [("中华人民共和国数据安全法", "第四十九条"), ("中华人民共和国个人信息保护法", "第六十六条")]
    evidence = evidence_for(articles, keys)
    missing = "中华人民共和国个人信息保护法第六十六条"
    analysis = analyse("公司泄露数据，谁负责", evidence, resolve=lambda ref: ref != missing)
    assert missing in analysis.removed_references
    assert missing not in all_refs(analysis)
    assert all(c["ref"] != missing for c in analysis.citations)


def test_fault_principle_and_remedy_time_limit_from_cited_text(collection):
    articles, _ = collection
    keys = [("中华人民共和国个人信息保护法", "第六十九条"), ("中华人民共和国行政复议法", "第二十条"),
            ("中华人民共和国国家赔偿法", "第七条")]
    analysis = analyse("受托公司泄露个人信息造成损害，谁赔？", evidence_for(articles, keys))
    presumed = [s for s in analysis.fault_principle if s.statement.startswith("过错推定")]
    assert presumed and presumed[0].basis == ["中华人民共和国个人信息保护法第六十九条"]
    review = [r for r in analysis.remedies if r.remedy == "行政复议"]
    assert review and "六十日" in review[0].time_limit
    claim = [r for r in analysis.remedies if r.remedy == "国家赔偿"]
    assert claim and claim[0].time_limit == ""  # 国家赔偿法第七条 states no time limit
    assert any("委托的行政机关为赔偿义务机关" in s.statement for s in analysis.external)


def test_scholarship_only_when_given_and_always_labelled(collection):
    articles, paper = collection
    evidence = evidence_for(articles, [("中华人民共和国国家赔偿法", "第十六条")])
    plain = analyse("算法错误导致罚款错误，政府和企业谁负责？", evidence)
    assert not any(s.label for s in plain.external + plain.fault_principle)
    with_paper = analyse("算法错误导致罚款错误，政府和企业谁负责？", evidence, scholarship=paper)
    scholarly = [s for s in with_paper.fault_principle if s.label == "学理观点"]
    assert scholarly and "无过错责任" in scholarly[0].statement
    assert "10.12677/ojls.2023.115601" in scholarly[0].statement
    cited = {c["ref"]: c for c in with_paper.citations}
    assert cited[scholarly[0].basis[0]]["label"] == "学理观点"
    assert cited[scholarly[0].basis[0]]["binding_force"].startswith("无约束力")
    # the legal basis (国家赔偿法第十六条: 故意或者重大过失) is still there and separate
    assert any(not s.label and s.basis == ["中华人民共和国国家赔偿法第十六条"] for s in with_paper.fault_principle)


def test_liable_party_coverage_on_domain_dev(collection, questions, capsys):
    """Upper bound of the pipeline: evidence = gold articles + 10 seeded random distractors."""
    articles, _ = collection
    rng = random.Random(SEED)
    hit = total = 0
    for question in questions:
        keys = gold_keys(question)
        keys += distractors(articles, set(keys), 10, rng)
        analysis = analyse(question["question"], evidence_for(articles, keys))
        bases = {b for p in analysis.parties for b in p.basis}
        hit += sum(lp["basis"] in bases for lp in question["liable_parties"])
        total += len(question["liable_parties"])
        assert set(all_refs(analysis)) <= {"".join(k) for k in keys}
    with capsys.disabled():
        print(f"\nliable-party coverage (gold + 10 distractors, seed {SEED}): {hit}/{total} = {hit / total:.3f}")
    assert len(questions) == 20
    assert hit / total >= 0.85


def test_says_nothing_ignores_the_papers_views_and_nothing_else():
    """An analysis of 无依据 slots plus the paper's 学理观点 says nothing (the answer is then
    未找到相关法律依据); one grounded slot, party row or remedy is something."""
    from assistant.analysis import SCHOLARSHIP_LABEL, says_nothing
    from assistant.records import Remedy

    paper = Slot("学理观点：政企合作中机关对外先担责", ["龙成秀2023"], no_basis=False, label=SCHOLARSHIP_LABEL)
    assert says_nothing(Analysis())
    assert says_nothing(Analysis(external=[paper, Slot()], fault_principle=[paper], internal=[Slot()]))
    assert not says_nothing(Analysis(internal=[Slot("受托方依合同担责", ["中华人民共和国民法典第九百二十九条"], no_basis=False)]))
    assert not says_nothing(Analysis(parties=[Party("行政机关", ROLE_GOV, "国家赔偿", "依法赔偿", ["中华人民共和国国家赔偿法第七条"])]))
    assert not says_nothing(Analysis(remedies=[Remedy("行政复议", "六十日", ["中华人民共和国行政复议法第二十条"])]))


def test_a_party_the_question_names_in_everyday_words_is_kept(collection):
    """民法典第一千二百四十七条 writes 动物饲养人或者管理人; people say 狗主人. A row about a
    kind of party is kept only when the question names it — now also in everyday words
    (`assistant.vocabulary.LAY_PARTIES`), and still dropped when nobody names it."""
    from assistant.vocabulary import lay_names
    articles, _paper = collection
    evidence = evidence_for(articles, [("中华人民共和国民法典", "第一千二百四十七条")])
    owner = "动物饲养人或者管理人"
    named = analyse("被狗咬了，狗主人要赔偿吗", evidence)
    assert owner in [p.party for p in named.parties]
    assert any(owner in line.text for line in named.conclusion if line.kind == "external")
    unnamed = analyse("外包公司泄露了我的信息，谁来赔偿", evidence)
    assert owner not in [p.party for p in unnamed.parties]
    assert lay_names("出租人", "房东不退押金") and not lay_names("出租人", "租客不交房租")
    # 民法典第一千二百一十八条: …由医疗机构承担赔偿责任 — the party is 医疗机构, not `由医疗机构`
    clinic = analyse("在医院看病被治错了，医院要赔偿吗", evidence_for(articles, [("中华人民共和国民法典", "第一千二百一十八条")]))
    assert "医疗机构" in [p.party for p in clinic.parties]
    assert not [p.party for p in clinic.parties if p.party.startswith("由")]
