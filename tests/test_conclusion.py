"""The answer-first parts of the analysis (issue 12) on real articles of `default`:

* party rows only for the question's actors and the recognised issues' roles, grouped,
  no repeats — a government-app leak gets no 医疗机构 row;
* the 结论 block: every line cites verified evidence, or says 无依据;
* remedies and time limits from the issue map, a limit stated only where the article's
  own text states it.

Evidence is built from real articles (retrieval simulated), as in tests/test_analysis.py.
"""
from __future__ import annotations

import pytest

from assistant.analysis import (
    analyse,
    evidence_from_unit,
    group_parties,
    liability_kinds,
    scholarship_paper,
    states_time_limit,
    verify,
)
from assistant.records import ALSO_CALLED, ConclusionLine, IssueProvision, Party, RecognisedIssue, Understanding, also_called_text

GOV_APP = "外包公司给政府做的政务App泄露了公民个人信息，谁来承担责任？"
CIVIL_CODE = "中华人民共和国民法典"
PIPL = "中华人民共和国个人信息保护法"
DSL = "中华人民共和国数据安全法"
SCL = "中华人民共和国国家赔偿法"
PROCUREMENT = "中华人民共和国政府采购法"
#: The governing articles of the government-app leak, and liability articles about other
#: kinds of actor (医疗机构, 商业银行, 律师事务所) that a retriever can bring along.
GOVERNING = [
    (DSL, "第四十条"), (PIPL, "第二十一条"), (PIPL, "第六十九条"), (PIPL, "第六十六条"), (DSL, "第四十九条"),
    (PIPL, "第六十八条"), (SCL, "第七条"), (SCL, "第三十九条"), ("中华人民共和国行政复议法", "第二十条"),
    ("中华人民共和国行政诉讼法", "第四十六条"),
]
FOREIGN = [(CIVIL_CODE, "第一千二百二十六条"), ("中华人民共和国商业银行法", "第七十三条"), ("中华人民共和国律师法", "第五十四条")]


@pytest.fixture(scope="module")
def articles(default_documents):
    return {(d.title, u.number): (d, u) for d in default_documents if d.status == "current" for u in d.articles()}


def evidence_for(articles, keys):
    return [evidence_from_unit(*articles[key], rank=i) for i, key in enumerate(keys, start=1)]


def issue(*provisions: IssueProvision, roles: tuple[str, ...] = ()) -> Understanding:
    recognised = RecognisedIssue(issue_id="test-issue", name="测试问题", roles=roles, provisions=provisions)
    return Understanding(issues=[recognised], intents=["deadline"])


def test_government_app_leak_keeps_only_the_question_parties_grouped(articles):
    evidence = evidence_for(articles, GOVERNING + FOREIGN)
    analysis = analyse(GOV_APP, evidence)
    bases = [ref for party in analysis.parties for ref in party.basis]
    assert not {"".join(key) for key in FOREIGN} & set(bases)
    assert not any(word in p.party for p in analysis.parties for word in ("医疗机构", "银行", "律师"))
    # the parties the question is about are all there
    agency = [p for p in analysis.parties if p.role == "行政机关/委托方"]
    assert len(agency) == 1 and f"{SCL}第七条" in agency[0].basis
    assert "委托的行政机关" in [d.name for d in agency[0].also_called]  # its statutory name is kept
    assert f"{ALSO_CALLED}：" in also_called_text(agency[0]) and "委托的行政机关（" in also_called_text(agency[0])
    assert any(f"{PIPL}第六十六条" in p.basis and p.role.startswith("企业") for p in analysis.parties)
    assert any(f"{DSL}第四十九条" in p.basis and "政务处分" in liability_kinds(p) for p in analysis.parties)
    # grouped: one row per party of the story (its words and role), with all its liability
    # kinds — the contractor the statutes call 受托方 / 个人信息处理者 / 数据处理者 is one row
    firm = [p for p in analysis.parties if p.role == "企业/受托方/运营者/处理者"]
    assert len(firm) == 1 and firm[0].question_actor
    keys = [(p.question_actor or p.party, p.role) for p in analysis.parties]
    assert len(keys) == len(set(keys))
    # DSL art. 49 and PIPL art. 68 punish the same staff of the agency: one row, both bases
    staff = [p for p in analysis.parties if p.party == "国家机关的直接负责的主管人员和其他直接责任人员"]
    assert len(staff) == 1 and {f"{DSL}第四十九条", f"{PIPL}第六十八条"} <= set(staff[0].basis)
    # the 民法典 row is dropped from the layers too, not only from the table
    layers = analysis.external + analysis.internal + analysis.individual
    assert not any(f"{CIVIL_CODE}第一千二百二十六条" in s.basis for s in layers)


def test_a_kind_of_actor_is_kept_when_the_question_names_it(articles):
    evidence = evidence_for(articles, [(CIVIL_CODE, "第一千二百二十六条")])
    analysis = analyse("医疗机构泄露了患者的病历资料，谁来承担责任？", evidence)
    assert any(f"{CIVIL_CODE}第一千二百二十六条" in p.basis for p in analysis.parties)


def test_roles_of_a_recognised_issue_keep_rows_the_question_does_not_name(articles):
    evidence = evidence_for(articles, [(SCL, "第七条"), (PIPL, "第六十六条")])
    question = "公司泄露了我的信息，谁负责？"
    plain = analyse(question, evidence)
    assert not any(f"{SCL}第七条" in p.basis for p in plain.parties)
    with_issue = analyse(question, evidence, understanding=issue(roles=("行政机关", "受托企业")))
    assert any(f"{SCL}第七条" in p.basis and "国家赔偿" in liability_kinds(p) for p in with_issue.parties)


def test_group_parties_merges_bases_and_consequences():
    rows = [
        Party("受托方", "企业", "行政责任", "处罚款", ["A法第一条"]),
        Party("国家机关", "机关", "政务处分", "依法给予处分", ["A法第二条"]),
        Party("受托方", "企业", "行政责任", "处罚款；责令改正", ["B法第三条"]),
    ]
    grouped = group_parties(rows)
    assert [(p.party, p.basis, p.consequence) for p in grouped] == [
        ("受托方", ["A法第一条", "B法第三条"], "处罚款；责令改正"),
        ("国家机关", ["A法第二条"], "依法给予处分"),
    ]


def test_conclusion_lines_cite_evidence_or_say_no_basis(articles):
    evidence = evidence_for(articles, GOVERNING + FOREIGN)
    analysis = analyse(GOV_APP, evidence)
    lines = analysis.conclusion
    assert 3 <= len(lines) <= 6
    refs = {e.ref for e in evidence}
    cited = {c["ref"] for c in analysis.citations}
    for line in lines:
        if line.kind == "no_basis":
            assert "无依据" in line.text and not line.basis
        else:
            assert line.basis and set(line.basis) <= refs and set(line.basis) <= cited, line
    kinds = [line.kind for line in lines]
    assert kinds[:3] == ["external", "internal", "individual"] and set(kinds[3:]) == {"remedy"}
    external = lines[0]
    assert "委托的行政机关" in external.text and f"{SCL}第七条" in external.basis
    assert f"{PIPL}第六十九条" in external.basis  # the processor owes civil damages too
    assert f"{DSL}第四十条" in lines[1].basis  # the commissioning duties between agency and contractor
    review = next(line for line in lines if "行政复议" in line.text)
    assert "六十日" in review.time_limit and review.basis == ["中华人民共和国行政复议法第二十条"]
    suit = next(line for line in lines if "行政诉讼" in line.text)
    assert "六个月" in suit.time_limit and "六个月" in articles[("中华人民共和国行政诉讼法", "第四十六条")][1].text


def test_conclusion_without_support_says_no_basis_per_layer():
    analysis = analyse("谁对健康码错误赋码负责？", [])
    assert [line.kind for line in analysis.conclusion] == ["no_basis"] * 4
    texts = "".join(line.text for line in analysis.conclusion)
    for layer in ("对外责任", "内部责任", "个人责任", "救济途径"):
        assert f"{layer}：无依据" in texts


def test_verification_turns_an_unverifiable_conclusion_line_into_no_basis(articles):
    evidence = evidence_for(articles, [(DSL, "第四十九条")])
    analysis = analyse("国家机关泄露数据谁负责", evidence)
    bogus = f"{DSL}第九十九条"
    analysis.conclusion[0] = ConclusionLine("external", "编造的结论", [bogus])
    checked = verify(analysis, evidence)
    assert bogus in checked.removed_references
    assert checked.conclusion[0].kind == "no_basis" and "对外责任：无依据" in checked.conclusion[0].text


def test_states_time_limit_compares_numerals_in_either_script():
    text = "可以在知道或者应知其权益受到损害之日起七个工作日内，以书面形式向采购人提出质疑。"
    assert states_time_limit(text, "七个工作日") and states_time_limit(text, "7个工作日")
    assert not states_time_limit(text, "15个工作日") and not states_time_limit(text, "")
    assert states_time_limit("请求国家赔偿的时效为两年", "2年")


def test_map_remedies_carry_a_time_limit_only_where_the_article_states_it(articles):
    keys = [(PROCUREMENT, "第五十二条"), (PROCUREMENT, "第五十三条"), (SCL, "第七条")]
    evidence = evidence_for(articles, keys)
    understanding = issue(
        IssueProvision(PROCUREMENT, "第五十二条", "time_limit", "供应商可在七个工作日内提出质疑", "7个工作日"),
        IssueProvision(PROCUREMENT, "第五十三条", "time_limit", "采购人应在七个工作日内答复质疑", "七个工作日"),
        # a wrong claim: 国家赔偿法第七条 states no time limit
        IssueProvision(SCL, "第七条", "time_limit", "请求国家赔偿（时限见他条）", "两年"),
        # not among the evidence: never cited
        IssueProvision(SCL, "第三十九条", "time_limit", "请求国家赔偿的时效为两年", "两年"),
    )
    question = "我们公司投标政府采购项目，觉得中标结果不公平，最晚什么时候能提出质疑？"
    analysis = analyse(question, evidence, understanding=understanding)
    by_ref = {}
    for remedy in analysis.remedies:
        for ref in remedy.basis:
            by_ref.setdefault(ref, []).append(remedy)
    challenge = by_ref[f"{PROCUREMENT}第五十二条"]  # read from the text itself; the map repeats nothing
    assert [r.remedy for r in challenge] == ["采购质疑"] and states_time_limit(challenge[0].time_limit, "7个工作日")
    # the 7 days of art. 53 bind the purchaser (答复), not the supplier
    assert [r.remedy for r in by_ref[f"{PROCUREMENT}第五十三条"]] == ["办理期限（采购质疑）"]
    assert all(r.time_limit == "" for r in by_ref[f"{SCL}第七条"])
    assert f"{SCL}第三十九条" not in by_ref
    line = next(line for line in analysis.conclusion if line.kind == "remedy" and "质疑" in line.text)
    assert "七个工作日" in line.time_limit and line.basis == [f"{PROCUREMENT}第五十二条"]
    assert not any("办理期限" in line.text for line in analysis.conclusion)
    # every limit the analysis states occurs in the text of the article it cites
    texts = {e.ref: e.text for e in evidence}
    for remedy in analysis.remedies:
        if remedy.time_limit:
            assert states_time_limit(texts[remedy.basis[0]], remedy.time_limit)


def test_an_exemption_is_not_a_liability(articles):
    evidence = evidence_for(articles, [(SCL, "第五条")])
    assert "国家不承担赔偿责任" in evidence[0].text
    analysis = analyse("公务员下班后私人打架伤了人，国家要赔吗？", evidence)
    assert not any("不承担" in p.consequence or "不承担赔偿责任" in p.consequence for p in analysis.parties)


def test_a_rule_for_whoever_acts_stays_only_when_the_question_has_such_an_actor(articles):
    public_order = ("中华人民共和国治安管理处罚法", "第四十二条")
    evidence = evidence_for(articles, [public_order, (PIPL, "第六十八条")])
    ref = "".join(public_order)
    agency_only = analyse("区政府部门泄露了我的信息，谁负责？", evidence)
    assert not any(ref in p.basis for p in agency_only.parties)
    assert any(f"{PIPL}第六十八条" in p.basis for p in agency_only.parties)
    with_wrongdoer = analyse("区政府部门泄露了我的信息，餐馆老板拿到后上门恐吓我，谁负责？", evidence)
    assert any(ref in p.basis for p in with_wrongdoer.parties)


def test_a_qualification_is_not_a_liability(articles):
    evidence = evidence_for(articles, [(PROCUREMENT, "第二十二条")])
    assert "具有独立承担民事责任的能力" in evidence[0].text
    analysis = analyse("供应商参加政府采购要具备什么条件？公司要承担什么责任？", evidence)
    assert not any("民事责任" in liability_kinds(p) for p in analysis.parties)


def test_a_map_limit_the_reader_already_states_is_not_repeated(articles):
    """民法典第二百二十条 gives 十五日 for suing after an 异议登记: read once, as a civil suit."""
    key = (CIVIL_CODE, "第二百二十条")
    evidence = evidence_for(articles, [key])
    understanding = issue(IssueProvision(*key, "time_limit", "异议登记后十五日内不起诉的，异议登记失效", "十五日"))
    analysis = analyse("不动产登记错了，我申请了异议登记，多久之内要起诉？", evidence, understanding=understanding)
    suits = [r for r in analysis.remedies if "".join(key) in r.basis and "诉讼" in r.remedy]
    assert [r.remedy for r in suits] == ["民事诉讼"] and "十五日" in suits[0].time_limit


def test_asked_whom_to_sue_the_external_line_names_the_designated_defendant(articles):
    key = ("中华人民共和国行政诉讼法", "第二十六条")
    evidence = evidence_for(articles, [key])
    question = "外包公司替区政府处理罚款，罚错了我，我该告谁？"
    asked = analyse(question, evidence, understanding=Understanding(intents=["defendant"]))
    external = asked.conclusion[0]
    assert external.kind == "external" and "被告" in external.text and external.basis == ["".join(key)]
    assert "委托的行政机关是被告" in external.text  # the 委托 sentence, as the question is about outsourcing


def test_a_limit_only_the_map_names_is_given_when_the_text_states_it(articles):
    """行政复议法第二十一条 states 二十年 without the `…日内` form the reader knows: the map's
    limit is checked against the text and given; a limit the text does not state is not."""
    key = ("中华人民共和国行政复议法", "第二十一条")
    evidence = evidence_for(articles, [key])
    stated = analyse("房子被错误登记，多少年内还能申请复议？", evidence,
                     understanding=issue(IssueProvision(*key, "time_limit", "不动产超过二十年不予受理", "二十年")))
    review = [r for r in stated.remedies if r.remedy == "行政复议"]
    assert [r.time_limit for r in review] == ["二十年"]
    assert any(line.time_limit == "二十年" and line.basis == ["".join(key)] for line in stated.conclusion)
    wrong = analyse("房子被错误登记，多少年内还能申请复议？", evidence,
                    understanding=issue(IssueProvision(*key, "time_limit", "（错误的期限）", "三十年")))
    assert all(r.time_limit == "" for r in wrong.remedies if r.remedy == "行政复议")


def test_the_scholarship_paper_is_the_cited_paper_not_any_document_typed_scholarship(default_documents):
    typed = [d for d in default_documents if d.doc_type == "学术文献" and d.status == "current"]
    assert len(typed) >= 2  # default also holds LawRefBook's practice guides typed 学术文献
    paper = scholarship_paper(default_documents)
    assert paper.extra["citation"]["doi"] == "10.12677/ojls.2023.115601"


def test_asked_who_must_prove_the_conclusion_says_it_from_the_articles(articles):
    """要我自己证明吗?: a 谁来证明 line from the articles' own words — 个人信息保护法第六十九条
    presumes the processor's fault; 行政诉讼法第三十八条 says who proves the damage and when
    the burden moves to the agency — each citing its article; not asked, no such line."""
    keys = [(PIPL, "第六十九条"), ("中华人民共和国行政诉讼法", "第三十八条")] + GOVERNING
    evidence = evidence_for(articles, keys)
    asked = analyse("外包公司把我的信息泄露了，要我自己证明他们有过错吗？", evidence,
                    understanding=Understanding(intents=["burden_of_proof", "compensation"]))
    proof = [line for line in asked.conclusion if line.kind == "proof"]
    assert len(proof) == 1 and len(asked.conclusion) <= 6
    assert proof[0].basis == [f"{PIPL}第六十九条", "中华人民共和国行政诉讼法第三十八条"]
    assert "过错推定" in proof[0].text and "不能证明自己没有过错" in proof[0].text
    assert "因被告的原因导致原告无法举证的，由被告承担举证责任" in proof[0].text
    assert set(proof[0].basis) <= {c["ref"] for c in asked.citations}
    not_asked = analyse("外包公司把我的信息泄露了，谁来承担责任？", evidence, understanding=Understanding(intents=["liability"]))
    assert "proof" not in [line.kind for line in not_asked.conclusion]


def test_asked_who_must_prove_without_such_an_article_says_no_basis(articles):
    evidence = evidence_for(articles, [(DSL, "第四十条"), (DSL, "第四十九条")])
    asked = analyse("外包公司泄露了数据，要我自己证明吗？", evidence, understanding=Understanding(intents=["burden_of_proof"]))
    proof = [line for line in asked.conclusion if line.text.startswith("举证责任：")]
    assert len(proof) == 1 and proof[0].kind == "no_basis" and "无依据" in proof[0].text and not proof[0].basis


def test_asked_what_a_party_must_do_the_duties_come_first(articles):
    """An official checking obligations (要做什么 → intent `duty`): the 结论 opens with the
    parties' duties from the articles (the body's 数据安全法第四十条, the entrusting
    processor's 个人信息保护法第二十一条), one article per party; not asked, no such line;
    no duty article, 无依据."""
    evidence = evidence_for(articles, GOVERNING)
    question = "街道委托外包公司运营社区App，街道和公司各有什么义务？"
    asked = analyse(question, evidence, understanding=Understanding(intents=["duty"]))
    first = asked.conclusion[0]
    assert first.kind == "duty" and first.text.startswith("应当做什么：") and len(asked.conclusion) <= 6
    assert first.basis == [f"{DSL}第四十条", f"{PIPL}第二十一条"]
    assert set(first.basis) <= {c["ref"] for c in asked.citations}
    assert "duty" not in [line.kind for line in analyse(question, evidence).conclusion]
    bare = analyse(question, evidence_for(articles, [(SCL, "第七条")]), understanding=Understanding(intents=["duty"]))
    assert bare.conclusion[0].kind == "no_basis" and bare.conclusion[0].text.startswith("各方义务：无依据")


def test_a_duty_mentioning_commission_is_internal_only_between_named_parties(articles):
    """住房公积金管理条例第三十六条 (职工、单位有权查询…，住房公积金管理中心、受委托银行不得拒绝)
    mentions 委托 but allocates nothing between a body and a contractor: a retiree refused by
    the fund centre gets 内部 无依据; a question about a bank the centre commissioned gets it."""
    evidence = evidence_for(articles, [("住房公积金管理条例", "第三十六条")])
    alone = analyse("退休了想把公积金取出来，中心不让查也不让取", evidence)
    assert not [s for s in alone.internal if not s.no_basis]
    assert next(line for line in alone.conclusion if line.kind in ("internal", "no_basis") and "内部" in line.text).kind == "no_basis"
    commissioned = analyse("公积金中心委托的银行不让我查缴存记录，中心和银行谁负责？", evidence)
    assert any("住房公积金管理条例第三十六条" in s.basis for s in commissioned.internal if not s.no_basis)


def test_a_prohibition_toward_the_buyer_is_no_internal_allocation(articles):
    """政府采购法第二十五条 forbids bribing 采购人 (`供应商不得以向采购人…行贿`): the words
    向采购人 name the object of the bribe, not a contract between the sides; 第四十八条's
    `中标、成交供应商就采购项目和分包项目向采购人负责` is the contractor's allocation."""
    evidence = evidence_for(articles, [(PROCUREMENT, "第二十五条"), (PROCUREMENT, "第四十八条")])
    analysis = analyse("对手跟采购代理串通压我们的分，中标的和分包的谁向采购人负责？", evidence)
    internal = [s for s in analysis.internal if not s.no_basis]
    assert internal and all(s.basis == [f"{PROCUREMENT}第四十八条"] for s in internal)


def test_a_third_party_row_needs_someone_else_in_the_story(articles):
    """行政赔偿规定第二十四条 makes a 第三人 who caused the harm (虚假材料) answer first; a firm
    whose county broke a rent promise names nobody else, so it gets no 第三人 row and the
    对外 line does not name one; a story with someone who used the person's papers does."""
    key = ("最高人民法院关于审理行政赔偿案件若干问题的规定", "第二十四条")
    evidence = evidence_for(articles, [key])
    promise = analyse("县里承诺免我们公司三年租金，现在新部门不认了要我们补交，搬家的损失谁来出？", evidence)
    assert not [p for p in promise.parties if p.party == "第三人"]
    assert "第三人" not in next(line.text for line in promise.conclusion if "对外" in line.text or line.kind == "external")
    forged = analyse("有人冒用我的身份证提供虚假材料，公司被登记到我名下，局里的登记错了，损失谁来赔？", evidence)
    assert [p for p in forged.parties if p.party == "第三人"]
