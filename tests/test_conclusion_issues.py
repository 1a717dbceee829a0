"""Party rows and 结论 lines that come from the recognised issues (issue 12), on real
articles of `default` (retrieval simulated as in tests/test_conclusion.py):

* one row per party, its liability kinds merged;
* a liability article paired with a duty gives rows only within the leading laws;
* 国家赔偿法第三条 (受害人有取得赔偿的权利) makes the acting 行政机关 a 国家赔偿 party;
* a duty the recognised issue names is a row of the question's party;
* a 结论 layer the evidence leaves 无依据 is filled from the issue's provisions for that
  layer, labelled with the issue, cited and verified — never with a party row.
"""
from __future__ import annotations

import pytest

from assistant.analysis import (
    DUTY_LIABILITY,
    STATUTORY_PERIOD,
    add_handling,
    add_time_limits,
    analyse,
    evidence_from_unit,
    fill_from_issues,
    group_parties,
    liability_kinds,
    states_time_limit,
)
from assistant.records import ConclusionLine, Designation, IssueProvision, Party, RecognisedIssue, Understanding

PIPL = "中华人民共和国个人信息保护法"
DSL = "中华人民共和国数据安全法"
SCL = "中华人民共和国国家赔偿法"
GOV_APP = "外包公司给政府做的政务App泄露了公民个人信息，谁来承担责任？"


@pytest.fixture(scope="module")
def articles(default_documents):
    return {(d.title, u.number): (d, u) for d in default_documents if d.status == "current" for u in d.articles()}


def item(articles, law, article, rank, origin="search"):
    return evidence_from_unit(*articles[(law, article)], rank=rank, origin=origin)


def understanding(*provisions: IssueProvision, roles=("行政机关", "受托企业"), name="测试问题") -> Understanding:
    issue = RecognisedIssue(issue_id="test-issue", name=name, score=3.0, roles=roles, provisions=provisions)
    return Understanding(issues=[issue], intents=["liability"])


def test_one_row_per_party_with_all_its_liability_kinds():
    grouped = group_parties([
        Party("工作人员", "工作人员/责任人员", "政务处分", "依法给予处分", ["A法第八十条"]),
        Party("工作人员", "工作人员/责任人员", DUTY_LIABILITY, "应当保密", ["A法第十条"]),
        Party("工作人员", "工作人员/责任人员", "刑事责任", "依法追究刑事责任", ["A法第八十条"]),
        Party("采购人", "行政机关/委托方", "行政责任", "责令改正", ["A法第七十一条"]),
    ])
    assert [(p.party, liability_kinds(p), p.basis) for p in grouped] == [
        ("工作人员", ["政务处分", "刑事责任", DUTY_LIABILITY], ["A法第八十条", "A法第十条"]),  # a bare duty last
        ("采购人", ["行政责任"], ["A法第七十一条"]),
    ]


def test_a_paired_liability_gives_rows_only_within_the_leading_laws(articles):
    evidence = [
        item(articles, DSL, "第四十条", 1),
        item(articles, DSL, "第四十五条", 2, origin="liability-pair"),  # sanctions the leading law's duty
        item(articles, PIPL, "第六十六条", 3, origin="liability-pair"),  # another law, paired with a later hit
    ]
    analysis = analyse(GOV_APP, evidence)
    bases = {ref for p in analysis.parties for ref in p.basis}
    assert f"{DSL}第四十五条" in bases and f"{PIPL}第六十六条" not in bases
    # it stays evidence: the other layers may still cite it
    as_search = analyse(GOV_APP, [evidence[0], item(articles, DSL, "第四十五条", 2), item(articles, PIPL, "第六十六条", 3)])
    assert f"{PIPL}第六十六条" in {ref for p in as_search.parties for ref in p.basis}


def test_the_right_to_state_compensation_names_the_acting_body(articles):
    evidence = [item(articles, SCL, "第三条", 1)]
    assert "受害人有取得赔偿的权利" in evidence[0].text
    analysis = analyse("派出所违法拘留了我三天，后来说抓错了，政府要赔偿吗？", evidence)
    rows = [p for p in analysis.parties if f"{SCL}第三条" in p.basis]
    assert rows and rows[0].party == "行政机关" and "国家赔偿" in liability_kinds(rows[0])
    assert analysis.conclusion[0].kind == "external" and f"{SCL}第三条" in analysis.conclusion[0].basis


def test_a_duty_the_issue_names_is_a_row_of_the_question_party(articles):
    evidence = [item(articles, PIPL, "第六十六条", 1), item(articles, DSL, "第四十条", 2)]
    plain = analyse(GOV_APP, evidence)
    # the firm already has a liability (第六十六条), so its duty under 第四十条 was not a row
    assert not any(f"{DSL}第四十条" in p.basis for p in plain.parties if p.role.startswith("企业"))
    named = analyse(GOV_APP, evidence, understanding=understanding(IssueProvision(DSL, "第四十条", "duty")))
    duties = [p for p in named.parties if f"{DSL}第四十条" in p.basis]
    # the firm's duty joins its liability row, under the name 第四十条 gives it
    firm = next(p for p in duties if p.role.startswith("企业"))
    assert Designation("受托方", [f"{DSL}第四十条"]) in firm.also_called
    assert {p.party for p in duties} == {"国家机关", firm.party} and len(duties) == 2
    assert all(DUTY_LIABILITY in liability_kinds(p) for p in duties)


def test_an_empty_layer_is_filled_from_the_issue_and_says_so(articles):
    evidence = [item(articles, DSL, "第四十九条", 1)]
    provision = IssueProvision(SCL, "第七条", "defendant")
    u = understanding(provision, name="受托企业泄露政务数据")
    plain = analyse(GOV_APP, evidence, understanding=u)
    assert plain.conclusion[0].kind == "no_basis" and "对外责任" in plain.conclusion[0].text
    issue_items = [evidence_from_unit(*articles[(SCL, "第七条")], rank=1, origin="issue_map")]
    filled = analyse(GOV_APP, evidence, understanding=u, issue_evidence=[(u.issues[0], issue_items)])
    line = filled.conclusion[0]
    assert line.kind == "external" and line.basis == [f"{SCL}第七条"]
    assert "据识别的法律问题“受托企业泄露政务数据”" in line.text and "赔偿义务机关" in line.text
    assert f"{SCL}第七条" in {c["ref"] for c in filled.citations}  # cited, with its text
    assert f"{SCL}第七条" not in {ref for p in filled.parties for ref in p.basis}  # the table rests on retrieval
    # a provision whose role is not about the layer does not fill it
    other = understanding(IssueProvision(SCL, "第七条", "time_limit"))
    not_filled = analyse(GOV_APP, evidence, understanding=other, issue_evidence=[(other.issues[0], issue_items)])
    assert not_filled.conclusion[0].kind == "no_basis"


def test_an_unanswered_proof_question_is_filled_from_the_issue_burden_provision(articles):
    """要我自己证明吗? with no 举证 article retrieved: the recognised issue's burden-of-proof
    provision (行政诉讼法第三十四条) answers it, labelled and cited."""
    law = "中华人民共和国行政诉讼法"
    evidence = [item(articles, DSL, "第四十九条", 1)]
    u = understanding(IssueProvision(law, "第三十四条", "burden_of_proof"), name="举证责任")
    u.intents = ["burden_of_proof"]
    plain = analyse("罚错了我，要我自己证明吗？", evidence, understanding=u)
    assert any(line.kind == "no_basis" and line.text.startswith("举证责任：") for line in plain.conclusion)
    issue_items = [evidence_from_unit(*articles[(law, "第三十四条")], rank=1, origin="issue_map")]
    filled = analyse("罚错了我，要我自己证明吗？", evidence, understanding=u, issue_evidence=[(u.issues[0], issue_items)])
    proof = [line for line in filled.conclusion if line.kind == "proof"]
    assert len(proof) == 1 and proof[0].basis == [f"{law}第三十四条"]
    assert "被告对作出的行政行为负有举证责任" in proof[0].text and "据识别的法律问题“举证责任”" in proof[0].text
    assert f"{law}第三十四条" in {c["ref"] for c in filled.citations}


def test_a_limit_counted_from_the_authority_receipt_is_its_handling_period(articles):
    """信访工作条例第三十四条: 应当自受理之日起60日内办结 — the body's 办理期限, never the
    petitioner's deadline in the 结论."""
    key = ("信访工作条例", "第三十四条")
    evidence = [item(articles, *key, 1)]
    u = understanding(IssueProvision(*key, "time_limit", why="信访事项60日内办结", time_limit="60日"))
    analysis = analyse("信访两个多月了没结果，他们最晚什么时候要办完？", evidence, understanding=u)
    limits = [r for r in analysis.remedies if "".join(key) in r.basis and r.time_limit]
    assert limits and all(r.remedy.startswith("办理期限") for r in limits)
    assert not any(line.time_limit for line in analysis.conclusion if line.kind == "remedy")


@pytest.mark.parametrize("law, article", [("潍坊市12345政务服务便民热线条例", "第二十条"),
                                          ("济南市12345市民服务热线条例", "第二十四条")])
def test_a_hotline_case_period_binds_the_handling_department(articles, law, article):
    """12345 条例: `承办单位应当…能够在五个工作日内办理完毕的，应当办理完毕` — the department's
    办理期限, not the caller's deadline (承办单位 is a government actor; 大型活动承办单位 is not)."""
    evidence = [item(articles, law, article, 1)]
    u = understanding(IssueProvision(law, article, "time_limit", why="承办单位五个工作日内办结", time_limit="五个工作日"))
    analysis = analyse("打了12345半个月没人管，他们多久必须办完？", evidence,
                       understanding=Understanding(issues=u.issues, intents=["deadline", "handling"]))
    limits = [r for r in analysis.remedies if f"{law}{article}" in r.basis and r.time_limit]
    assert limits and all(r.remedy.startswith("办理期限") for r in limits)
    assert not any(line.time_limit for line in analysis.conclusion if line.kind == "remedy")
    assert any(line.kind == "handling" and line.basis == [f"{law}{article}"] for line in analysis.conclusion)


def test_fill_keeps_supported_layers_and_skips_an_unnamed_remedy():
    lines = [ConclusionLine("external", "对受害人先担责：甲", ["A法第一条"]),
             ConclusionLine("no_basis", "救济途径：无依据（检索到的条文未写明救济途径）")]
    shadow = [ConclusionLine("external", "对受害人先担责：乙", ["B法第一条"]),
              ConclusionLine("remedy", "可以依该条主张权利（条文未写明期限）", ["B法第二条"]),
              ConclusionLine("remedy", "可以申请行政复议：期限 六十日", ["B法第三条"], time_limit="六十日")]
    assert fill_from_issues(lines, shadow, "某问题", "external") == lines  # supported: kept as is
    filled = fill_from_issues(lines, shadow, "某问题", "remedy")
    assert [line.basis for line in filled] == [["A法第一条"], ["B法第三条"]]
    assert filled[1].time_limit == "六十日" and filled[1].text.endswith("（据识别的法律问题“某问题”的条文）")


def test_asked_by_when_the_issue_timed_remedy_goes_first():
    lines = [ConclusionLine("external", "对受害人先担责：甲", ["A法第一条"]),
             ConclusionLine("remedy", "可以申请行政复议（条文未写明期限）", ["A法第二条"]),
             ConclusionLine("remedy", "可以提起行政诉讼（条文未写明期限）", ["A法第三条"])]
    shadow = [ConclusionLine("remedy", "可以申请行政复议：期限 六十日", ["B法第九条"], time_limit="六十日"),
              ConclusionLine("remedy", "可以投诉、举报（条文未写明期限）", ["B法第十条"])]
    out = add_time_limits(lines, shadow, "某问题")
    # the timed 复议 replaces the untimed one; the untimed issue line is not added
    assert [(line.kind, line.basis, line.time_limit) for line in out] == [
        ("external", ["A法第一条"], ""), ("remedy", ["B法第九条"], "六十日"), ("remedy", ["A法第三条"], "")]
    assert out[1].text.endswith("（据识别的法律问题“某问题”的条文）")
    assert add_time_limits(lines, shadow[1:], "某问题") == lines  # nothing timed: unchanged


def test_a_deep_search_hit_gives_rows_only_within_the_leading_laws(articles):
    leading = [item(articles, DSL, number, rank) for rank, number in enumerate(
        ("第四十条", "第三十九条", "第二十七条", "第二十九条", "第三十条", "第三十一条", "第三十二条", "第三十三条"), start=1)]
    other = item(articles, PIPL, "第六十六条", 9)  # hit 9, another law
    same = item(articles, DSL, "第四十五条", 10)  # hit 10, the leading law
    analysis = analyse(GOV_APP, leading + [other, same])
    bases = {ref for p in analysis.parties for ref in p.basis}
    assert f"{DSL}第四十五条" in bases and f"{PIPL}第六十六条" not in bases
    first = item(articles, PIPL, "第六十六条", 1)
    early = analyse(GOV_APP, [first] + [item(articles, e.law, e.article, e.rank + 1) for e in leading])
    assert f"{PIPL}第六十六条" in {ref for p in early.parties for ref in p.basis}


def test_a_civil_code_remedy_without_a_time_limit_is_a_civil_suit(articles):
    civil = "中华人民共和国民法典"
    evidence = [item(articles, civil, "第九百九十五条", 1)]
    assert "诉讼时效" in evidence[0].text and "行政" not in evidence[0].text
    u = understanding(IssueProvision(civil, "第九百九十五条", "remedy", why="人格权请求权不适用诉讼时效"))
    analysis = analyse("我的个人信息被泄露了，能起诉吗？", evidence, understanding=u)
    assert [r.remedy for r in analysis.remedies if f"{civil}第九百九十五条" in r.basis] == ["民事诉讼"]


@pytest.mark.parametrize("law, article, limit", [
    ("中华人民共和国行政强制法", "第二十五条", "三十日"),  # 查封、扣押的期限不得超过三十日: how long a measure lasts
    ("征信业管理条例", "第十六条", "5年"),  # 不良信息的保存期限…为5年: how long data is kept
    ("公共安全视频图像信息系统管理条例", "第十七条", "30日"),  # 应当保存不少于30日
    ("中华人民共和国行政处罚法", "第三十六条", "二年"),  # 违法行为在二年内未被发现的: the authority's limitation
])
def test_a_duration_is_no_ones_deadline(articles, law, article, limit):
    """A time_limit provision whose period is a duration is listed as a 法定期间, never as
    a deadline in the 结论: it once read `可以请求查阅…：期限 5年` from 征信业管理条例第十六条's
    retention period."""
    evidence = [item(articles, law, article, 1)]
    u = understanding(IssueProvision(law, article, "time_limit", why="期限", time_limit=limit))
    analysis = analyse("征信错了最晚什么时候能改？", evidence, understanding=u)
    timed = [(r.remedy, r.time_limit) for r in analysis.remedies if f"{law}{article}" in r.basis and r.time_limit]
    assert timed == [(STATUTORY_PERIOD, limit)]
    assert not any(line.time_limit for line in analysis.conclusion)


@pytest.mark.parametrize("law, article, limit", [
    ("中华人民共和国行政复议法", "第二十条", "六十日"),  # 可以自知道…之日起六十日内提出行政复议申请
    ("中华人民共和国民法典", "第一百八十八条", "三年"),  # 诉讼时效期间为三年
    ("中华人民共和国行政复议法", "第二十一条", "二十年"),  # 复议申请…超过二十年…不予受理: an outer limit
])
def test_a_window_to_act_stays_the_persons_deadline(articles, law, article, limit):
    evidence = [item(articles, law, article, 1)]
    u = understanding(IssueProvision(law, article, "time_limit", why="期限", time_limit=limit))
    analysis = analyse("最晚什么时候要申请？", evidence, understanding=u)
    assert any(states_time_limit(r.time_limit, limit) for r in analysis.remedies if f"{law}{article}" in r.basis)


def test_asked_by_when_the_authority_handling_period_is_a_line(articles):
    """`他们多久必须答复？` asks how long the authority has (intent `handling`): 政府信息公开条例
    第三十三条's 20个工作日 is its 办理期限 — a 结论 line of its own, never the person's deadline."""
    key = ("中华人民共和国政府信息公开条例", "第三十三条")
    evidence = [item(articles, *key, 1)]
    u = understanding(IssueProvision(*key, "time_limit", why="收到申请后20个工作日内答复", time_limit="20个工作日"))
    asked = analyse("我申请政府信息公开，他们多久必须答复？", evidence,
                    understanding=Understanding(issues=u.issues, intents=["deadline", "handling"]))
    handling = [line for line in asked.conclusion if line.kind == "handling"]
    assert len(handling) == 1 and handling[0].basis == ["".join(key)] and handling[0].time_limit == "20个工作日"
    assert "收到申请后20个工作日内答复" in handling[0].text
    assert not any(line.time_limit for line in asked.conclusion if line.kind == "remedy")
    # asked by when the person must act (deadline, not handling): no handling line
    own = analyse("被拒了，我最晚什么时候要起诉？", evidence, understanding=Understanding(issues=u.issues, intents=["deadline"]))
    assert not any(line.kind == "handling" for line in own.conclusion)


def test_an_issue_handling_line_takes_an_untimed_last_remedy_place_when_full():
    full = [ConclusionLine("external", "甲", ["A法第一条"]), ConclusionLine("internal", "乙", ["A法第二条"]),
            ConclusionLine("individual", "丙", ["A法第三条"]), ConclusionLine("remedy", "可以申请行政复议", ["A法第四条"]),
            ConclusionLine("remedy", "可以提起行政诉讼", ["A法第五条"]), ConclusionLine("remedy", "可以投诉", ["A法第六条"])]
    shadow = [ConclusionLine("handling", "机关办理期限：五个工作日", ["B法第九条"], time_limit="五个工作日")]
    out = add_handling(full, shadow, "某问题")
    assert [line.basis[0] for line in out] == ["A法第一条", "A法第二条", "A法第三条", "A法第四条", "A法第五条", "B法第九条"]
    assert out[-1].text.endswith("（据识别的法律问题“某问题”的条文）")
    assert add_handling(full[:4], [], "某问题") == full[:4]  # nothing to add
    # a timed last remedy (the person's own deadline) is never displaced
    timed = full[:5] + [ConclusionLine("remedy", "可以投诉：期限 十五日内", ["A法第六条"], time_limit="十五日内")]
    assert add_handling(timed, shadow, "某问题") == timed


def test_an_outer_limit_comes_after_the_ordinary_deadline(articles):
    """行政复议法第二十一条's 超过二十年…不予受理 is the longest a claim can wait (不动产), not
    the deadline: with 第二十条 (六十日内) retrieved the 复议 line gives 六十日; alone it is
    stated as 最长期限."""
    law = "中华人民共和国行政复议法"
    outer = IssueProvision(law, "第二十一条", "time_limit", why="最长保护期", time_limit="二十年")
    asked = Understanding(issues=understanding(outer).issues, intents=["deadline"])
    both = analyse("可以复议吗？期限多久？", [item(articles, law, "第二十一条", 1), item(articles, law, "第二十条", 2)],
                   understanding=asked)
    review = [line for line in both.conclusion if line.text.startswith("可以申请行政复议")]
    assert review[0].basis == [f"{law}第二十条"] and "六十日" in review[0].time_limit
    alone = analyse("可以复议吗？期限多久？", [item(articles, law, "第二十一条", 1)], understanding=asked)
    review = [line for line in alone.conclusion if line.text.startswith("可以申请行政复议")]
    assert review[0].text.startswith("可以申请行政复议：最长期限 二十年")


def test_a_claim_no_remedy_pattern_names_says_what_the_article_gives():
    """`可以依该条主张权利` alone told the user nothing; the line now carries the map's
    one-line why (or the sentence) of the article it cites, and keeps its time limit."""
    from assistant.analysis import GENERIC_REMEDY, conclude
    from assistant.records import Analysis, Remedy

    why = "基于个人同意处理个人信息的，个人有权撤回同意，处理者应提供便捷的撤回方式"
    untimed = conclude(Analysis(remedies=[Remedy(GENERIC_REMEDY, "", ["A法第十五条"], detail=why)]))
    line = [l for l in untimed if l.kind == "remedy"][0]
    assert line.text.startswith("可以依该条主张权利（基于个人同意处理个人信息的") and line.text.endswith("（条文未写明期限）")
    timed = conclude(Analysis(remedies=[Remedy(GENERIC_REMEDY, "30日", ["B法第十七条"], detail="单位应自事故发生之日起30日内提出申请")]))
    line = [l for l in timed if l.kind == "remedy"][0]
    assert line.text == "可以依该条主张权利（单位应自事故发生之日起30日内提出申请）：期限 30日" and line.time_limit == "30日"
    bare = conclude(Analysis(remedies=[Remedy(GENERIC_REMEDY, "", ["C法第一条"])]))
    assert [l.text for l in bare if l.kind == "remedy"] == ["可以依该条主张权利（条文未写明期限）"]


def test_the_direct_suit_deadline_comes_before_the_one_after_review(articles):
    """With 行政诉讼法第四十五条 (不服复议决定的…十五日内) and 第四十八条 (障碍消除后十日内申请
    延长) ranked above 第四十六条 (直接起诉…六个月内), the 行政诉讼 line gives the six months a
    person has to act first; the fifteen days after a review decision are a later step."""
    law = "中华人民共和国行政诉讼法"
    evidence = [item(articles, law, "第四十五条", 1), item(articles, law, "第四十八条", 2), item(articles, law, "第四十六条", 3)]
    assert "复议决定" in evidence[0].text and "障碍消除" in evidence[1].text and "六个月" in evidence[2].text
    analysis = analyse("被罚了款，还能去法院告吗？最晚什么时候？", evidence)
    suit = [line for line in analysis.conclusion if line.text.startswith("可以提起行政诉讼")]
    assert len(suit) == 1 and suit[0].basis == [f"{law}第四十六条"] and "六个月" in suit[0].time_limit
    after_review = analyse("复议决定下来了不服，多久内能起诉？", evidence[:1])
    suit = [line for line in after_review.conclusion if line.text.startswith("可以提起行政诉讼")]
    assert suit and "十五日" in suit[0].time_limit  # alone, it is still the deadline


def test_a_special_laws_deadline_yields_to_the_procedure_law(articles):
    """注册会计师法第四十一条 (十五日内直接向人民法院起诉) ranked above 行政诉讼法第四十六条
    (六个月内) for a tourism fine: the suit line gives the procedure law's six months, and
    the special law's 复议 sentences are read as 行政诉讼, never as a 民事诉讼. Where the
    recognised issue cites the special law, its fifteen days hold; alone, they are still
    what the retrieved article says."""
    cpa, suit_law = "中华人民共和国注册会计师法", "中华人民共和国行政诉讼法"
    special, general = item(articles, cpa, "第四十一条", 1), item(articles, suit_law, "第四十六条", 2)
    assert "十五日内直接向人民法院起诉" in special.text and "六个月" in general.text
    question = "导游被文旅局罚了款，最晚什么时候去法院告？"
    analysis = analyse(question, [special, general])
    suits = [line for line in analysis.conclusion if "诉讼" in line.text.split("：")[0]]
    assert [line.text.split("：")[0] for line in suits] == ["可以提起行政诉讼"], suits
    assert suits[0].basis == [f"{suit_law}第四十六条"] and "六个月" in suits[0].time_limit
    assert all(r.remedy != "民事诉讼" for r in analysis.remedies if f"{cpa}第四十一条" in r.basis)
    cited = understanding(IssueProvision(cpa, "第四十一条", "time_limit", why="不服处罚的起诉期限", time_limit="十五日"))
    own_field = analyse("注册会计师被财政部门罚了款，最晚什么时候去法院告？", [special, general], understanding=cited)
    suit = [line for line in own_field.conclusion if line.text.startswith("可以提起行政诉讼")]
    assert suit[0].basis == [f"{cpa}第四十一条"] and "十五日" in suit[0].time_limit
    alone = analyse(question, [special])
    suit = [line for line in alone.conclusion if line.text.startswith("可以提起行政诉讼")]
    assert suit and "十五日" in suit[0].time_limit


def test_a_civil_limitation_period_does_not_make_the_suit_civil(articles):
    """行政协议 规定第二十五条: a suit for an agency's breach of an administrative agreement
    has a civil limitation period (the map's why: 适用民事诉讼时效), but it is still a
    行政诉讼 — never `可以提起民事诉讼`."""
    law = "最高人民法院关于审理行政协议案件若干问题的规定"
    why = "对不履行协议起诉适用民事诉讼时效，对变更、解除协议的行政行为起诉适用行政诉讼起诉期限"
    asked = Understanding(issues=understanding(IssueProvision(law, "第二十五条", "time_limit", why=why)).issues,
                          intents=["remedy_route"])
    analysis = analyse("街道不按协议给钱怎么办", [item(articles, law, "第二十五条", 1)], understanding=asked)
    kinds = {r.remedy for r in analysis.remedies}
    assert "行政诉讼" in kinds and "民事诉讼" not in kinds, analysis.remedies


def test_a_dispute_with_a_counterparty_the_story_lacks_is_no_route(articles):
    """社会保险法第八十三条 gives a suit for a dispute with one's employer (个人与所在用人单位
    发生社会保险争议的…提起诉讼): no 结论 line for a pension the 社保局 stopped, one for a
    story whose company did not pay in; the analysis still lists the remedy either way."""
    law = "中华人民共和国社会保险法"
    evidence = [item(articles, law, "第八十三条", 1)]
    assert "与所在用人单位发生社会保险争议" in evidence[0].text

    def civil(question):
        analysis = analyse(question, evidence)
        assert any(r.remedy == "民事诉讼" for r in analysis.remedies)
        return [line for line in analysis.conclusion if line.text.startswith("可以提起民事诉讼")]

    assert civil("社保局说我刷脸认证没通过，把我的养老金停了，能告他们吗？") == []
    assert civil("公司一直没给我交社保，社保局也不管，能告公司吗？")


def test_an_organ_being_held_to_account_is_no_answer_to_the_harmed_person(articles):
    """国务院关于在线政务服务的若干规定第十四条 (`政务服务机构…依法追究法律责任`) says the
    organ will be held to account, not that it answers to the person: the 对外 line says
    无依据 instead of `对受害人先担责：政务服务机构——法律责任`, unless the question asks whether
    the organ is liable at all; the 外部责任 slot still quotes it. An organ that
    `承担法律责任` for what its delegate did (行政处罚法第二十条) does answer — in a story where
    someone acted for it."""
    online = item(articles, "国务院关于在线政务服务的若干规定", "第十四条", 1)
    assert "依法追究法律责任" in online.text
    analysis = analyse("政务App上的罚款决定我没收到，过了期限还能复议吗？", [online])
    external = [line for line in analysis.conclusion if line.text.startswith(("对受害人先担责", "对外责任"))]
    assert len(external) == 1 and external[0].kind == "no_basis", external
    assert any("依法追究法律责任" in slot.statement for slot in analysis.external)
    # asked whether the organ answers at all, the 结论 says it is held to account — as such
    from assistant.analysis import HELD_TO_ACCOUNT

    asked = analyse("政务服务机构泄露了我的信息，它要负什么责任？", [online], understanding=Understanding(intents=["liability"]))
    line = [line for line in asked.conclusion if line.kind == "external"]
    assert line and line[0].text.startswith(f"{HELD_TO_ACCOUNT}：政务服务机构——法律责任"), asked.conclusion
    assert line[0].basis == [online.ref]
    penalty = item(articles, "中华人民共和国行政处罚法", "第二十条", 1)
    assert "承担法律责任" in penalty.text
    delegated = analyse("街道委托的公司罚了我的款，谁对这个罚款负责？", [penalty])
    line = [line for line in delegated.conclusion if line.kind == "external"]
    assert line and line[0].text.startswith("对受害人先担责：委托行政机关"), delegated.conclusion
    # with nobody acting for anybody, the delegating organ of that article is no party
    alone = analyse("罚了我三万，事前一句话没说，这个罚款谁负责？", [penalty])
    external = [line for line in alone.conclusion if line.text.startswith(("对受害人先担责", "对外责任"))]
    assert len(external) == 1 and external[0].kind == "no_basis", alone.conclusion


def test_the_external_layer_is_filled_from_an_issue_only_when_the_question_asks_who_answers(articles):
    """`政府那个平台存了我哪些信息，我能要来看看吗` asks for access, not who answers to
    whom: the 对外 layer stays 无依据 rather than naming the 赔偿义务机关 of an issue's
    provision (国家赔偿法第七条); asked who answers, the same issue fills it. (The 个人
    layer likewise: `test_the_individual_layer_is_filled_only_when_asked`.)"""
    state = IssueProvision(SCL, "第七条", "liability", why="赔偿义务机关")
    issue_items = lambda issue: [(issue, [item(articles, SCL, "第七条", 1, origin="issue_map")])]  # noqa: E731
    evidence = [item(articles, "中华人民共和国行政复议法", "第二十二条", 1)]
    for intents, filled in (([], False), (["remedy_route"], False), (["liability"], True), (["compensation"], True)):
        asked = Understanding(issues=understanding(state).issues, intents=intents)
        analysis = analyse("政府那个平台存了我哪些信息，我能要来看看吗", evidence, understanding=asked,
                           issue_evidence=issue_items(asked.issues[0]))
        external = [line for line in analysis.conclusion if line.text.startswith(("对受害人先担责", "对外责任"))]
        assert len(external) == 1 and (external[0].kind == "external") == filled, (intents, external)
        assert not filled or external[0].basis == [f"{SCL}第七条"]


def test_the_individual_layer_is_filled_only_when_asked(articles):
    """An issue's liability provision that makes staff answer personally (政府信息公开条例第五十三条:
    责任人员 处分) fills the 个人 layer for a question asking who is liable, not for one
    asking how to get the information."""
    law = "中华人民共和国政府信息公开条例"
    staff = IssueProvision(law, "第五十三条", "liability", why="负有责任的领导人员和直接责任人员 处分")
    evidence = [item(articles, "中华人民共和国行政复议法", "第二十二条", 1)]
    for intents, filled in (([], False), (["deadline"], False), (["liability"], True)):
        asked = Understanding(issues=understanding(staff).issues, intents=intents)
        analysis = analyse("申请公开征地批复，两个月了没答复", evidence, understanding=asked,
                           issue_evidence=[(asked.issues[0], [item(articles, law, "第五十三条", 1, origin="issue_map")])])
        individual = [line for line in analysis.conclusion if line.text.startswith(("个人担责", "个人责任"))]
        assert len(individual) == 1 and (individual[0].kind == "individual") == filled, (intents, individual)


@pytest.mark.parametrize("law, article, why, expected", [
    # a firm's public record (要求该政府部门予以更正): no personal information in it
    ("企业信息公示暂行条例", "第十二条", "政府部门发现公示信息不准确应及时更正，公民、法人有证据证明公示信息不准确的有权要求更正",
     "信息更正请求"),
    ("征信业管理条例", "第二十五条", "信息主体认为征信机构采集、保存、提供的信息存在错误、遗漏的，有权提出异议要求更正",
     "信息更正请求"),
    # the article's own text speaks of personal information, even where the why does not
    ("中华人民共和国民法典", "第一千零三十七条", "发现信息有错误可提出异议并请求更正；处理者违法或违约处理的，有权请求及时删除",
     "个人信息权利请求"),
    (PIPL, "第四十六条", "个人发现其个人信息不准确或不完整的有权请求更正、补充", "个人信息权利请求"),
])
def test_a_correction_is_a_personal_information_request_only_about_personal_information(articles, law, article,
                                                                                          why, expected):
    """`可以请求查阅、复制、更正、删除个人信息` was the 结论's remedy line for a small firm
    wrongly listed as 经营异常 (企业信息公示暂行条例第十二条), for 征信 and 信用 records and
    for an ID card's registration: a record's correction is `要求更正或删除有误、不应保留的信息`."""
    from assistant.analysis import REMEDY_VERBS

    evidence = [item(articles, law, article, 1)]
    u = understanding(IssueProvision(law, article, "remedy", why=why))
    analysis = analyse("记录错了怎么改？", evidence, understanding=u)
    assert [r.remedy for r in analysis.remedies if f"{law}{article}" in r.basis] == [expected]
    lines = [line.text for line in analysis.conclusion if line.kind == "remedy"]
    assert lines and lines[0].startswith(f"可以{REMEDY_VERBS[expected]}")


def test_compensation_for_a_courts_unlawful_enforcement_is_no_civil_suit(articles):
    """行政强制法第八条's second sentence (因人民法院在强制执行中有违法行为…有权依法要求赔偿)
    was read as a civil claim: agency-seizure stories were told `可以提起民事诉讼`. It is state
    compensation; and since it is about a court, it does not say who answers to a person whose
    goods an agency seized."""
    law = "中华人民共和国行政强制法"
    evidence = [item(articles, law, "第八条", 1)]
    analysis = analyse("区交通运输局扣了我的车两个多月不还，能告吗？", evidence)
    kinds = {r.remedy for r in analysis.remedies if f"{law}第八条" in r.basis}
    assert "民事诉讼" not in kinds and {"行政复议", "行政诉讼", "国家赔偿"} <= kinds
    assert not any("人民法院在强制执行中" in slot.statement for slot in analysis.external)
    asked = analyse("法院强制执行时搞错了，扣了不该扣的东西，能要赔偿吗？", evidence)
    assert any("人民法院在强制执行中" in slot.statement for slot in asked.external)


def test_the_handling_period_is_the_decisions_not_an_intermediate_steps():
    """Asked how long the authority has, the 结论 gives the period of the decision (行政复议法
    第六十二条: 六十日内作出复议决定), not of deciding whether to accept the case (第三十条:
    五日内审查决定是否受理) even when that one comes first; alone, the step's period is given."""
    from assistant.analysis import AUTHORITY_DEADLINE, conclude
    from assistant.records import Analysis, Remedy

    step = Remedy(f"{AUTHORITY_DEADLINE}（行政复议）", "五日", ["A法第三十条"], detail="收到申请后应在五日内审查决定是否受理")
    decision = Remedy(f"{AUTHORITY_DEADLINE}（行政复议）", "六十日", ["A法第六十二条"], detail="应自受理之日起六十日内作出复议决定")
    asked = Understanding(issues=[], intents=["handling"])
    both = [line for line in conclude(Analysis(remedies=[step, decision]), asked) if line.kind == "handling"]
    assert [(line.basis, line.time_limit) for line in both] == [(["A法第六十二条"], "六十日")]
    alone = [line for line in conclude(Analysis(remedies=[step]), asked) if line.kind == "handling"]
    assert [line.basis for line in alone] == [["A法第三十条"]]
