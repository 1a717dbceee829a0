"""Query-side legal vocabulary: lay words people type → the terms statutes use.

Non-lawyers ask "老公欠钱不还怎么办", statutes say 配偶 / 债务 / 履行. BM25 only matches
words that occur, so the query is expanded with the legal terms of every lay phrase
it contains (the original words stay; expansion only adds; on with FAGUI_VOCABULARY=1).
The same lay phrases score legal content in the question-understanding gate
(`LAY_TOPICS`: the ones that only say whom or what), and `LAY_PARTIES` names the parties
statutes write (出租人, 动物饲养人) in the words people use (房东, 狗主人) for the analysis.
The tables are general legal language written from the statutes' own vocabulary, not
from any evaluation answer.
"""
from __future__ import annotations

import re

#: lay phrase (regular expression) → legal terms added to the query.
LAY_TO_LEGAL: tuple[tuple[str, str], ...] = (
    # family and persons
    (r"老公|老婆|丈夫|妻子|媳妇|两口子|夫妻", "配偶 夫妻"),
    (r"离婚", "离婚 婚姻关系 解除"),
    (r"结婚|领证", "结婚 婚姻登记"),
    (r"彩礼", "彩礼 婚约财产"),
    (r"孩子|小孩|儿子|女儿|子女", "子女 未成年人"),
    (r"抚养费|养孩子", "抚养费 抚养"),
    (r"养老|赡养|不管父母|父母没人管", "赡养 赡养费"),
    (r"遗产|遗嘱|继承|分家产", "继承 遗产 遗嘱"),
    (r"监护", "监护人 监护"),
    (r"名誉|造谣|诽谤|骂人|辱骂", "名誉权 侮辱 诽谤"),
    (r"隐私|偷拍|曝光", "隐私权 个人信息"),
    (r"肖像|照片被用", "肖像权"),
    # money and contracts
    (r"欠钱|借钱|借款|借条|欠款|还钱|不还", "借款合同 债务 履行 清偿 借款人"),
    (r"利息|利率|高利贷", "利息 利率 借款合同"),
    (r"担保|保人|作保", "保证 保证人 担保"),
    (r"押金|定金|订金", "定金 押金"),
    (r"违约|毁约|不履行|反悔", "违约责任 履行 合同"),
    (r"退货|退款|退钱", "退货 解除合同 返还"),
    (r"买房|房子|房屋|二手房", "房屋 买卖合同 不动产"),
    (r"租房|房东|租客|房租", "租赁合同 出租人 承租人 租金"),
    (r"装修", "承揽 装饰装修"),
    (r"假货|欺诈|骗", "欺诈 赔偿"),
    (r"网购|网店|电商|平台商家", "电子商务 经营者 消费者"),
    # work
    (r"工资|欠薪|拖欠工资|加班费", "劳动报酬 工资 拖欠"),
    (r"辞退|开除|炒鱿鱼|被裁", "解除劳动合同 经济补偿 用人单位"),
    (r"辞职|离职", "解除劳动合同 劳动者"),
    (r"工伤|上班受伤", "工伤 工伤保险"),
    (r"社保|五险", "社会保险"),
    (r"试用期", "试用期 劳动合同"),
    # harm and accidents
    (r"撞|车祸|交通事故", "交通事故 机动车 损害赔偿"),
    (r"打人|被打|打伤|殴打", "人身损害 故意伤害 殴打"),
    (r"狗咬|宠物|饲养的动物", "饲养动物 动物损害"),
    (r"医疗事故", "医疗损害 医疗机构"),
    (r"看病|医院", "医疗损害 医疗机构"),
    (r"赔偿|赔钱|赔我|赔偿损失", "赔偿 损害赔偿"),
    (r"误工", "误工费 赔偿"),
    # government and public law
    (r"罚款|罚单|被罚", "行政处罚 罚款"),
    (r"告政府|告.{0,4}(局|部门|政府)|起诉.{0,4}(局|部门|政府)", "行政诉讼 行政机关 被告"),
    (r"复议", "行政复议"),
    (r"政府赔|国家赔|冤枉|错抓", "国家赔偿 赔偿义务机关"),
    (r"健康码|红码|黄码|绿码|赋码", "健康码 传染病防治 个人信息"),
    (r"泄露|泄漏|外泄|倒卖|卖了.{0,4}信息|信息被卖", "泄露 个人信息 非法提供 出售"),
    (r"人脸|刷脸", "人脸识别 人脸信息 敏感个人信息"),
    (r"算法|自动化|系统自动|秒批", "自动化决策 算法"),
    (r"外包|运维|承建|中标|采购", "受托方 委托 政府采购 合同"),
    (r"公开信息|信息公开|查档案", "政府信息公开 申请"),
    (r"谁负责|谁担责|谁承担|找谁|谁赔", "法律责任 承担 赔偿义务机关"),
)

#: The lay phrases of `LAY_TO_LEGAL` that only say whom or what a question is about (family,
#: home, hospital), not a trouble: `孩子发烧要去医院吗` names two and asks nothing legal.
#: The legal-content gate counts them together as one lay phrase
#: (`assistant.understanding.legal_points`); query expansion uses them like the rest.
LAY_TOPICS: frozenset[str] = frozenset({
    r"老公|老婆|丈夫|妻子|媳妇|两口子|夫妻",
    r"孩子|小孩|儿子|女儿|子女",
    r"买房|房子|房屋|二手房",
    r"看病|医院",
})

#: Parties as statutes write them (a regular expression over the written subject) → the lay
#: words that name the same party. The analysis keeps a row about a kind of party only when
#: the question names it (`assistant.analysis._relevant_rows`); people say 房东, not 出租人,
#: and 狗主人, not 动物饲养人. General civil-law vocabulary, written from the statutes' terms.
LAY_PARTIES: tuple[tuple[str, str], ...] = (
    (r"饲养人|管理人", r"狗主人|养狗|养猫|宠物主人|主人家|狗的主人|猫的主人"),
    (r"出租人", r"房东|出租方"),
    (r"承租人", r"租客|房客|租户|承租方"),
    (r"经营者|销售者|生产者", r"商家|卖家|店家|厂家|商店|店铺|网店|老板"),
    (r"医疗机构|医务人员", r"医院|诊所|医生|护士|卫生院"),
    (r"物业服务人|物业服务企业", r"物业"),
    (r"机动车驾驶人|驾驶人", r"司机|开车的"),
    (r"学校|幼儿园|教育机构", r"学校|幼儿园|老师|培训班"),
)
_LAY_PARTIES = tuple((re.compile(written), re.compile(lay)) for written, lay in LAY_PARTIES)


def lay_names(written: str, question: str) -> bool:
    """Whether `question` names the party a statute writes as `written` in everyday words
    (动物饲养人或者管理人 ← 狗主人, 出租人 ← 房东; `LAY_PARTIES`)."""
    return any(statute.search(written) and lay.search(question) for statute, lay in _LAY_PARTIES)


_COMPILED = tuple((re.compile(pattern), terms) for pattern, terms in LAY_TO_LEGAL)


def legal_terms(question: str) -> list[str]:
    """Legal terms implied by the lay phrases in `question`, first occurrence order, no repeats."""
    out: list[str] = []
    for pattern, terms in _COMPILED:
        if pattern.search(question):
            for term in terms.split():
                if term not in out and term not in question:
                    out.append(term)
    return out


def expand_query(question: str) -> str:
    """The question followed by the legal terms it implies (unchanged if none)."""
    terms = legal_terms(question)
    return f"{question} {' '.join(terms)}" if terms else question
