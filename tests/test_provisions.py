"""Provision classification on real articles of the default collection (assistant.provisions).

Every expectation below was read off the article text itself (printed in the comments).
"""
from __future__ import annotations

import pytest

from assistant.provisions import (
    ROLE_FIRM,
    ROLE_GOV,
    ROLE_STAFF,
    actors_in,
    binding_force,
    classify_provision,
    is_liability_source,
    person_time_limits,
    role_of,
)

DSL = "中华人民共和国数据安全法"
PIPL = "中华人民共和国个人信息保护法"
SCL = "中华人民共和国国家赔偿法"
CIVIL = "中华人民共和国民法典"


@pytest.fixture(scope="module")
def articles(default_documents):
    """(title, article number) → (title, text) of current documents of `default`."""
    return {
        (d.title, u.number): (d.title, u.text)
        for d in default_documents
        if d.status == "current"
        for u in d.articles()
    }


def classify(articles, law, number):
    title, text = articles[(law, number)]
    return classify_provision(text, title=title)


def test_dsl_40_duty_and_prohibition_of_state_organ_and_contractor(articles):
    # 国家机关委托他人建设、维护电子政务系统…应当…监督受托方…。受托方应当…不得擅自留存、使用、泄露…
    c = classify(articles, DSL, "第四十条")
    assert c.has("duty") and c.has("prohibition")
    assert not c.has("liability")
    assert c.subjects[:2] == ("国家机关", "受托方")
    assert role_of("受托方") == ROLE_FIRM and role_of("国家机关") == ROLE_GOV


def test_dsl_49_sanction_targets_the_responsible_staff_of_the_state_organ(articles):
    # 国家机关不履行…义务的，对直接负责的主管人员和其他直接责任人员依法给予处分。
    c = classify(articles, DSL, "第四十九条")
    assert c.kinds == ("liability",)
    (liability,) = c.liabilities
    assert liability.subject == "直接负责的主管人员和其他直接责任人员"
    assert liability.role == ROLE_STAFF
    assert liability.of_subject == "国家机关"
    assert liability.kind == "政务处分"
    assert liability.consequence == "依法给予处分"


def test_pipl_66_fines_with_amounts_for_processor_and_staff(articles):
    c = classify(articles, PIPL, "第六十六条")
    assert c.has("liability") and not c.has("duty")
    assert {"处一百万元以下罚款", "处一万元以上十万元以下罚款", "处五千万元以下或者上一年度营业额百分之五以下罚款",
            "处十万元以上一百万元以下罚款"} <= set(c.fines)
    processor = [l for l in c.liabilities if l.subject == "个人信息处理者"]
    # the article writes no subject (`违反本法规定处理个人信息…的`): inferred from the activity
    assert processor and processor[0].inferred == "activity"
    assert any(l.consequence == "处一百万元以下罚款" for l in processor)
    staff = [l for l in c.liabilities if l.subject == "直接负责的主管人员和其他直接责任人员"]
    assert [l.consequence.split("，")[0] for l in staff] == ["处一万元以上十万元以下罚款", "处十万元以上一百万元以下罚款"]
    assert all(l.kind == "行政责任" and l.of_subject == "个人信息处理者" for l in staff)


def test_pipl_69_presumed_fault(articles):
    # 处理个人信息侵害个人信息权益造成损害，个人信息处理者不能证明自己没有过错的，应当承担损害赔偿等侵权责任。
    c = classify(articles, PIPL, "第六十九条")
    assert [(f.principle, f.phrase) for f in c.fault] == [("过错推定", "不能证明自己没有过错")]
    assert [(l.subject, l.kind) for l in c.liabilities] == [("个人信息处理者", "民事责任")]


def test_civil_code_fault_and_no_fault_rules(articles):
    fault = classify(articles, CIVIL, "第一千一百六十五条")
    assert [f.principle for f in fault.fault] == ["过错责任", "过错推定", "过错推定"]
    no_fault = classify(articles, CIVIL, "第一千一百六十六条")
    assert [(f.principle, f.phrase) for f in no_fault.fault] == [("无过错责任", "不论行为人有无过错")]


def test_scl_16_recourse_against_staff_and_entrusted_organisations(articles):
    # 赔偿义务机关赔偿损失后，应当责令有故意或者重大过失的工作人员或者受委托的组织或者个人承担部分或者全部赔偿费用。
    # 对有故意或者重大过失的责任人员，有关机关应当依法给予处分；构成犯罪的，应当依法追究刑事责任。
    c = classify(articles, SCL, "第十六条")
    recourse = [l for l in c.liabilities if l.recourse]
    assert {l.subject for l in recourse} == {"工作人员", "受委托的组织或者个人"}
    assert all(l.kind == "国家赔偿" and l.consequence == "承担部分或者全部赔偿费用" for l in recourse)
    assert recourse[0].subject_phrase == "有故意或者重大过失的工作人员"
    kinds = {(l.subject, l.kind) for l in c.liabilities if not l.recourse}
    assert kinds == {("责任人员", "政务处分"), ("责任人员", "刑事责任")}
    assert {f.principle for f in c.fault} == {"故意或者重大过失"}


def test_civil_recourse_is_civil_not_state_compensation(articles):
    # 用人单位的工作人员因执行工作任务造成他人损害的，由用人单位承担侵权责任。用人单位承担侵权责任后，
    # 可以向有故意或者重大过失的工作人员追偿。… (an employer's recourse: civil law, no state organ)
    c = classify(articles, CIVIL, "第一千一百九十一条")
    recourse = [l for l in c.liabilities if l.recourse]
    assert recourse and all(l.kind == "民事责任" for l in recourse)
    assert "国家赔偿" not in {l.kind for l in c.liabilities}


def test_a_period_counted_from_the_authority_receipt_is_not_the_person_deadline(articles):
    # 信访工作条例第三十六条: 信访人…可以自收到书面答复之日起30日内…请求复核。收到复核请求的机关、单位
    # 应当自收到复核请求之日起30日内提出复核意见。 — the first period is the person's, the second the body's
    title, text = articles[("信访工作条例", "第三十六条")]
    assert person_time_limits(text) == ["自收到书面答复之日起30日内"]
    # 广告法第五十三条: 接到投诉、举报的部门应当自收到投诉之日起七个工作日内，予以处理 — the authority's only
    ad = classify(articles, "中华人民共和国广告法", "第五十三条")
    assert ad.remedies and all(r.time_limit == "" for r in ad.remedies)
    review = classify(articles, "中华人民共和国行政复议法", "第二十条")
    assert any("六十日内" in r.time_limit for r in review.remedies)
    # 行政复议法第三十条: 行政复议机关收到行政复议申请后，应当在五日内进行审查 — the body's
    check = classify(articles, "中华人民共和国行政复议法", "第三十条")
    assert all(r.time_limit == "" for r in check.remedies)
    # a person's period counted from a decision they received stays theirs
    assert person_time_limits("当事人应当自收到行政处罚决定书之日起十五日内，到指定的银行缴纳罚款。") == [
        "自收到行政处罚决定书之日起十五日内"]


def test_scl_7_designates_the_entrusting_organ(articles):
    c = classify(articles, SCL, "第七条")
    designated = {d.subject_phrase for d in c.designations if d.role == "赔偿义务机关"}
    assert {"该行政机关", "被授权的组织", "委托的行政机关"} <= designated
    assert not c.liabilities


def test_scl_4_items_are_conditions_not_sanctions(articles):
    # （一）违法实施罚款、吊销许可证和执照…的 — describes the wrongful act, sanctions nobody
    c = classify(articles, SCL, "第四条")
    assert not c.liabilities
    assert [(r.kind, r.holder) for r in c.remedies] == [("国家赔偿", "受害人")]


def test_time_limits_as_the_texts_state_them(articles):
    review = classify(articles, "中华人民共和国行政复议法", "第二十条")
    first = review.remedies[0]
    assert first.kind == "行政复议" and first.holder == "公民、法人或者其他组织"
    assert "六十日" in first.time_limit and first.time_limit.startswith("自知道或者应当知道")
    suit = classify(articles, "中华人民共和国行政诉讼法", "第四十六条")
    assert suit.remedies[0].kind == "行政诉讼" and "六个月" in suit.remedies[0].time_limit
    claim = classify(articles, SCL, "第三十九条")
    assert claim.remedies[0].kind == "国家赔偿" and claim.remedies[0].time_limit == "时效为两年"
    # `在赔偿请求时效的最后六个月内…时效中止` is a suspension rule, not a limit
    assert all("最后" not in r.time_limit for r in claim.remedies)


def test_litigation_defendant_of_entrusted_acts(articles):
    c = classify(articles, "中华人民共和国行政诉讼法", "第二十六条")
    assert "委托的行政机关" in {d.subject_phrase for d in c.designations if d.role == "被告"}


def test_criminal_law_unit_and_person(articles):
    c = classify(articles, "中华人民共和国刑法", "第二百五十三条之一")
    assert {l.kind for l in c.liabilities} == {"刑事责任"}
    assert ("单位", "判处罚金") in {(l.subject, l.consequence) for l in c.liabilities}
    person = c.liabilities[0]
    assert person.subject == "行为人" and person.inferred == "title"


def test_a_crime_defined_is_criminal_liability_of_its_actor(articles):
    # 第三百八十五条: 国家工作人员利用职务上的便利，索取他人财物的，…，是受贿罪。…以受贿论处。
    c = classify(articles, "中华人民共和国刑法", "第三百八十五条")
    assert [(l.kind, l.consequence) for l in c.liabilities] == [("刑事责任", "是受贿罪"), ("刑事责任", "以受贿论处")]
    assert role_of(c.liabilities[0].subject) == ROLE_STAFF
    # 第十三条: …依照法律应当受刑罚处罚的，都是犯罪，但是…不认为是犯罪。 — what crime is, no liability
    assert not classify(articles, "中华人民共和国刑法", "第十三条").liabilities


def test_review_outcome_targets_the_respondent(articles):
    # 行政复议机关决定撤销或者部分撤销该行政行为，并可以责令被申请人在一定期限内重新作出行政行为
    c = classify(articles, "中华人民共和国行政复议法", "第六十四条")
    assert {l.subject for l in c.liabilities} == {"被申请人"}
    assert any(r.kind == "行政复议" and "撤销" in r.outcome for r in c.remedies)


def test_procurement_subcontracting_names_both_suppliers(articles):
    c = classify(articles, "中华人民共和国政府采购法", "第四十八条")
    assert [(l.subject, l.kind) for l in c.liabilities] == [("中标、成交供应商", "法律责任"), ("分包供应商", "法律责任")]


def test_definition_power_and_remedy_on_short_texts():
    assert classify_provision("本法所称数据，是指任何以电子或者其他方式对信息的记录。").kinds == ("definition",)
    power = classify_provision("国家机关可以委托他人建设电子政务系统。")
    assert power.kinds == ("power",) and power.subjects == ("国家机关",)
    remedy = classify_provision("个人有权向人民法院提起诉讼。")
    assert remedy.has("remedy") and remedy.remedies[0].kind == "民事诉讼"


def test_binding_force_labels():
    assert binding_force("法律").startswith("有约束力")
    assert binding_force("司法解释").startswith("有约束力")
    assert "一般不作为责任依据" in binding_force("规范性文件")
    assert binding_force("规划").startswith("无约束力")
    assert binding_force("学术文献").startswith("无约束力")
    assert is_liability_source("地方性法规") and not is_liability_source("规范性文件")


def test_reporting_to_the_person_in_charge_is_no_liability(articles):
    # 行政强制法第十八条 （一）实施前须向行政机关负责人报告并经批准 — 负责人 is the person in charge,
    # not 向…负责 (answerable to); the article lists procedure, it sanctions no one
    assert classify(articles, "中华人民共和国行政强制法", "第十八条").liabilities == ()
    assert classify(articles, "中华人民共和国行政强制法", "第十九条").liabilities == ()


def test_a_denied_liability_is_not_a_liability(articles):
    # 行政赔偿规定第二十三条 …行政机关已经尽到审慎审查义务的，不承担行政赔偿责任 — a qualifier (行政)
    # between the denial and the liability still denies it; it was read as 第三人's 民事责任
    c = classify(articles, "最高人民法院关于审理行政赔偿案件若干问题的规定", "第二十三条")
    assert [(l.subject, l.kind) for l in c.liabilities] == [("行政机关", "国家赔偿")]
    # 民法典第五百九十条 …迟延履行后发生不可抗力的，不免除其违约责任 — not exempted: still liable
    assert "合同责任" in {l.kind for l in classify(articles, "中华人民共和国民法典", "第五百九十条").liabilities}


def test_a_capacity_to_bear_liability_is_no_liability(articles):
    # 行诉解释第二十条 行政机关组建…但不具有独立承担法律责任能力的机构 — describes an institution
    # (it lacks the capacity), sanctions no one; it led the 对外 line of a 网格员 question as
    # 行政机关——法律责任. 吊销资格证书 (勘察设计管理条例第三十七条) stays a sanction.
    assert classify(articles, "最高人民法院关于适用《中华人民共和国行政诉讼法》的解释", "第二十条").liabilities == ()
    revoked = classify(articles, "建设工程勘察设计管理条例", "第三十七条").liabilities
    assert any("吊销资格证书" in l.consequence for l in revoked)


def test_a_window_that_looks_back_is_no_deadline(articles):
    from assistant.provisions import extract_remedies

    def limits(law, number):
        title, text = articles[(law, number)]
        return [c.time_limit for c in extract_remedies(text, title) if c.time_limit]

    # 商标法第六十四条 …提供此前三年内实际使用该注册商标的证据: the 结论 said 可以提起民事诉讼：期限 三年内
    assert limits("中华人民共和国商标法", "第六十四条") == []
    # 劳动保障监察条例第二十条 …在2年内未被劳动保障行政部门发现 — how long a violation stays punishable
    assert limits("劳动保障监察条例", "第二十条") == []
    # 民诉解释 (督促程序) …七日内未向受理申请的人民法院表明不同意提起诉讼的 is still the person's deadline
    from assistant.provisions import person_time_limits
    assert person_time_limits("支付令失效后，申请支付令的一方当事人自收到终结督促程序裁定之日起七日内未向受理申请的"
                              "人民法院表明不同意提起诉讼的，视为向受理申请的人民法院起诉。") == ["自收到终结督促程序裁定之日起七日内"]


def test_an_event_organiser_is_not_a_handling_department():
    """承办单位 of a 12345 case or a 重大行政决策 is a government department; 大型活动承办单位
    (反恐怖主义法第八十七条) organises an event and is no government actor."""
    assert [role_of(m.group()) for m in actors_in("承办单位应当按照下列规定办理热线事项")] == [ROLE_GOV]
    assert ROLE_GOV not in [role_of(m.group()) for m in actors_in("大型活动承办单位以及重要设施的管理单位")]


def test_an_insurance_agency_answers_for_itself_and_its_recourse_is_against_the_employer():
    """社会保险法第八十九条: 经办机构及其工作人员 … 依法承担赔偿责任 — the agency owes the
    damages (it was read as its 工作人员); 失业保险条例第二十九条's 经办机构工作人员 are its
    staff; 第四十一条's `社会保险经办机构可以…追偿` names who recovers, the employer answers."""
    from assistant.provisions import extract_liabilities
    text = ("社会保险经办机构及其工作人员有下列行为之一的，由社会保险行政部门责令改正；给社会保险基金、"
            "用人单位或者个人造成损失的，依法承担赔偿责任；对直接负责的主管人员和其他直接责任人员依法给予处分：")
    civil = [l for l in extract_liabilities(text, "中华人民共和国社会保险法") if l.kind == "民事责任"]
    assert [(l.subject, role_of(l.subject)) for l in civil] == [("经办机构", ROLE_GOV)]
    staff = extract_liabilities("社会保险经办机构工作人员违反规定向失业人员收取费用的，由社会保险行政部门责令退还；"
                                "情节严重的，依法给予行政处分。", "失业保险条例")
    assert {l.subject for l in staff} == {"工作人员"}
    recourse = extract_liabilities("从工伤保险基金中先行支付的工伤保险待遇应当由用人单位偿还。用人单位不偿还的，"
                                   "社会保险经办机构可以依照本法第六十三条的规定追偿。", "中华人民共和国社会保险法")
    assert [(l.subject, l.recourse) for l in recourse] == [("单位", True)]


def test_the_staff_obstructed_or_threatened_do_not_answer_for_it():
    """刑法第二百七十七条 (妨害公务): 以暴力、威胁方法阻碍国家机关工作人员依法执行职务的，处三年
    以下有期徒刑… — the one who obstructs answers (刑法's subjectless clauses: 行为人), not the
    staff obstructed; a 12345 hotline's callers who threaten its staff answer, not the staff.
    `拒绝提供信息的单位` still names the one who refuses."""
    from assistant.provisions import extract_liabilities
    crime = extract_liabilities("以暴力、威胁方法阻碍国家机关工作人员依法执行职务的，处三年以下有期徒刑、拘役、管制或者罚金。",
                                "中华人民共和国刑法")
    assert [(l.subject, l.kind) for l in crime] == [("行为人", "刑事责任")]
    hotline = extract_liabilities("来电人骚扰、侮辱、威胁热线受理人员、工作人员或者诽谤、诬告、陷害他人，构成违反治安管理"
                                  "行为的，由公安机关依法给予处罚；构成犯罪的，依法追究刑事责任。", "济南市12345市民服务热线条例")
    assert hotline and all(role_of(l.subject) != ROLE_STAFF for l in hotline)
    impersonation = extract_liabilities("冒充国家机关工作人员招摇撞骗的，处三年以下有期徒刑、拘役、管制或者剥夺政治权利。",
                                        "中华人民共和国刑法")
    assert [l.subject for l in impersonation] == ["行为人"]
    refusing = extract_liabilities("拒绝提供信息的单位，由有关部门责令改正，处一万元以下罚款。", "某条例")
    assert [l.subject for l in refusing] == ["单位"]


def test_a_body_written_with_its_staff_answers_for_itself_and_its_staff_personally():
    """`X及其工作人员`: what a body answers for (责令改正, damages) is X's; 处分 and crimes are
    its staff's. 农药管理条例第四十九条 and 药品管理法实施条例第六十七条 had put 责令改正 and the
    damages on 工作人员; 优化营商环境条例's 有关部门及其工作人员 had put the crime on 有关部门."""
    from assistant.provisions import STATE_BODY_TERM, extract_liabilities
    pesticide = extract_liabilities(
        "县级以上人民政府农业主管部门及其工作人员有下列行为之一的，由本级人民政府责令改正；对负有责任的领导人员和直接"
        "责任人员，依法给予处分；负有责任的领导人员和直接责任人员构成犯罪的，依法追究刑事责任：", "农药管理条例")
    order = next(l for l in pesticide if l.kind == "行政责任")
    assert (order.subject, order.subject_phrase) == (STATE_BODY_TERM, "县级以上人民政府农业主管部门")
    assert role_of(order.subject) == ROLE_GOV
    assert all(role_of(l.subject) == ROLE_STAFF for l in pesticide if l.kind in ("政务处分", "刑事责任"))
    drugs = extract_liabilities(
        "药品监督管理部门及其工作人员违反规定，泄露生产者、销售者提交的未披露试验数据，造成申请人损失的，由药品监督管理"
        "部门依法承担赔偿责任；药品监督管理部门赔偿损失后，应当责令故意或者有重大过失的工作人员承担部分或者全部赔偿费用，"
        "并对直接责任人员依法给予行政处分。", "中华人民共和国药品管理法实施条例")
    damages = next(l for l in drugs if l.kind == "民事责任")
    assert (damages.subject, damages.subject_phrase) == (STATE_BODY_TERM, "药品监督管理部门")
    recourse = next(l for l in drugs if l.kind == "国家赔偿")
    assert recourse.subject == "工作人员"  # 责令…工作人员承担: the staff named, not the body
    known = extract_liabilities("有关部门及其工作人员在优化营商环境工作中玩忽职守、滥用职权的，依法给予处分；"
                                "构成犯罪的，依法追究刑事责任。", "某省优化营商环境条例")
    assert [(l.subject, l.of_subject, l.kind) for l in known] == [("工作人员", "有关部门", "政务处分"),
                                                                 ("工作人员", "有关部门", "刑事责任")]
    obstructed = extract_liabilities("拒绝、阻碍国务院期货监督管理机构或者国务院授权的部门及其工作人员依法行使监督检查职权的，"
                                     "由国务院期货监督管理机构责令改正，处十万元以上一百万元以下的罚款。", "中华人民共和国期货和衍生品法")
    assert obstructed and all(l.subject != STATE_BODY_TERM and role_of(l.subject) != ROLE_STAFF for l in obstructed)
    clinic = extract_liabilities("医疗机构及其工作人员有下列行为之一的，由县级以上人民政府卫生行政部门责令改正，给予警告：",
                                 "中华人民共和国精神卫生法")
    assert all(l.subject != STATE_BODY_TERM for l in clinic)  # not a state body: read as before
    watchdog = extract_liabilities("监察机关及其工作人员违法行使职权侵犯公民、法人和其他组织的合法权益，造成损害的，"
                                   "依法给予国家赔偿。", "中华人民共和国监察法")
    assert watchdog and all(l.subject != STATE_BODY_TERM for l in watchdog)  # a deciding body is never a liable party


@pytest.mark.parametrize("sentence, title, kind", [
    ("当事人对复议决定不服的，可以在接到复议决定之日起十五日内向人民法院起诉。", "中华人民共和国注册会计师法", "行政诉讼"),
    ("当事人也可以在接到处罚通知之日起15日内，直接向人民法院起诉。", "中华人民共和国河道管理条例", "行政诉讼"),
    ("劳动争议当事人对仲裁裁决不服的，可以自收到仲裁裁决书之日起十五日内向人民法院提起诉讼。", "中华人民共和国劳动法", "民事诉讼"),
    ("申请复议期满未申请复议，或者复议申请被驳回的，当事人可以就公证债权文书涉及的民事权利义务争议向人民法院提起诉讼。",
     "最高人民法院关于公证债权文书执行若干问题的规定", "民事诉讼"),
])
def test_a_suit_against_a_penalty_or_review_decision_is_administrative(sentence, title, kind):
    """A special law's suit against a 处罚 / 复议 decision says neither 行政 nor has an
    administrative title (注册会计师法): it is still a 行政诉讼; an arbitral award's suit and
    a court's 执行 复议 stay civil."""
    from assistant.provisions import litigation_kind

    assert litigation_kind(sentence, title) == kind
