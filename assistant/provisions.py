"""Deterministic reading of one provision: what kind of norm it is, whom it addresses,
which liability it imposes on whom, which remedy it opens and within what time.

Why rules and not a model: the responsibility analysis must cite exactly what an
article says, and the same text must always give the same reading. Chinese statutes
are drafted in a small set of fixed formulas, which these rules follow:

* norms: `应当/必须` (duty), `不得/禁止` (prohibition), `可以` (power), `本法所称`
  (definition), `有权…/可以…申请行政复议/提起诉讼` (remedy);
* liability clauses: `<violator>…的，[由<enforcer>]<sanction>；对<target><sanction>`
  — the sanction decides the kind (`依法给予处分` → 政务处分, `处…罚款` → 行政责任,
  `追究刑事责任` → 刑事责任, `违约责任` → 合同责任, `侵权责任` → 民事责任, …) and the
  target is the violator unless the clause names another one (`对直接负责的主管人员…`,
  `责令…工作人员…承担`, `属于国家机关工作人员的`);
* designations: `…为赔偿义务机关`, `…是被告`, `以…为被告` say who answers outward;
* enumeration items `（一）…` of a liability or remedy article describe *conditions*
  (`违法拘留…的`), never sanctions, so they are not searched for sanctions.

When a liability clause names no actor (`违反本法规定处理个人信息的，…`) the subject
is inferred, and `Liability.inferred` says how: from the previous sentence of the
same article (`context`), from the regulated activity (`activity`, e.g. 处理个人信息 →
个人信息处理者), from the document title (`title`, e.g. 刑法 → 行为人) or left empty
with the referenced articles in `refers_to` so the caller can resolve them (`xref`).

The vocabulary tables below are documented data; tests run the rules on real articles
of the default collection (tests/test_provisions.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from corpus.classify import UNCONFIRMED
from corpus.numerals import NUMERAL_CHARS, SMALL_NUMERAL_CHARS, article_label, chinese_to_int

# --- roles and the actor lexicon ---------------------------------------------------

ROLE_GOV = "行政机关/委托方"
ROLE_FIRM = "企业/受托方/运营者/处理者"
ROLE_STAFF = "工作人员/责任人员"
ROLE_CITIZEN = "公民/相对人"
ROLE_ANY = "行为人（未限定主体）"
ROLE_ENFORCER = "执法/裁决机关"  # imposes a sanction or decides a case; never a liable party
ROLES = (ROLE_GOV, ROLE_FIRM, ROLE_STAFF, ROLE_CITIZEN, ROLE_ANY, ROLE_ENFORCER)

#: Actor terms as statutes write them → role in a government–enterprise cooperation.
#: Longest terms win at the same position (`国家机关工作人员` before `国家机关`).
#: Mapping 个人信息处理者 / 数据处理者 to the enterprise role is the usual reading in
#: this domain (the contractor processes the data); a bureau can be one too.
ACTOR_ROLES: dict[str, str] = {
    # government side
    "国家机关": ROLE_GOV,
    "行政机关": ROLE_GOV,
    "赔偿义务机关": ROLE_GOV,
    "委托的行政机关": ROLE_GOV,
    "委托行政机关": ROLE_GOV,
    "委托方": ROLE_GOV,
    "委托人": ROLE_GOV,
    "法律、法规授权的组织": ROLE_GOV,
    "被授权的组织": ROLE_GOV,
    "事业单位": ROLE_GOV,
    "村民委员会": ROLE_GOV,
    "居民委员会": ROLE_GOV,
    "采购人": ROLE_GOV,
    "政务服务机构": ROLE_GOV,
    "被申请人": ROLE_GOV,
    "被告": ROLE_GOV,
    "国家机关政务网络的运营者": ROLE_GOV,
    "电子政务关键信息基础设施的运营者": ROLE_GOV,
    "有关部门": ROLE_GOV,
    "公共安全视频系统管理单位": ROLE_GOV,
    "承办单位": ROLE_GOV,  # 12345 条例, 重大行政决策: the department that handles the matter
    "经办机构": ROLE_GOV,  # 社会保险 / 医疗保障 经办机构: the public agency that runs the insurance
    # enterprise side
    "受托方": ROLE_FIRM,
    "受托人": ROLE_FIRM,
    "受委托的组织或者个人": ROLE_FIRM,
    "受行政机关委托的组织或者个人": ROLE_FIRM,
    "受委托的组织": ROLE_FIRM,
    "受委托组织": ROLE_FIRM,
    "委托的组织": ROLE_FIRM,
    "个人信息处理者": ROLE_FIRM,
    "信息处理者": ROLE_FIRM,
    "网络运营者": ROLE_FIRM,
    "网络数据处理者": ROLE_FIRM,
    "数据处理者": ROLE_FIRM,
    "重要数据的处理者": ROLE_FIRM,
    "开展数据处理活动的组织、个人": ROLE_FIRM,
    "关键信息基础设施的运营者": ROLE_FIRM,
    "关键信息基础设施运营者": ROLE_FIRM,
    "运营者": ROLE_FIRM,
    "供应商": ROLE_FIRM,
    "中标、成交供应商": ROLE_FIRM,
    "分包供应商": ROLE_FIRM,
    "采购代理机构": ROLE_FIRM,
    "网络安全服务机构": ROLE_FIRM,
    "服务提供者": ROLE_FIRM,
    "单位": ROLE_FIRM,
    "第三人": ROLE_FIRM,
    "当事人一方": ROLE_FIRM,
    "政府采购当事人": ROLE_ANY,
    "投标人": ROLE_FIRM,
    # individuals who answer personally
    "直接负责的主管人员和其他直接责任人员": ROLE_STAFF,
    "直接负责的主管人员": ROLE_STAFF,
    "其他直接责任人员": ROLE_STAFF,
    "国家机关工作人员": ROLE_STAFF,
    "行政机关工作人员": ROLE_STAFF,
    "工作人员": ROLE_STAFF,
    "公职人员": ROLE_STAFF,
    "公务员": ROLE_STAFF,
    "责任人员": ROLE_STAFF,
    "责任人": ROLE_STAFF,
    "行为人": ROLE_ANY,
    # citizens / applicants
    "公民、法人或者其他组织": ROLE_CITIZEN,
    "公民": ROLE_CITIZEN,
    "自然人": ROLE_CITIZEN,
    "个人": ROLE_CITIZEN,
    "受害人": ROLE_CITIZEN,
    "赔偿请求人": ROLE_CITIZEN,
    "申请人": ROLE_CITIZEN,
    "原告": ROLE_CITIZEN,
    "当事人": ROLE_CITIZEN,
    "行政相对人": ROLE_CITIZEN,
    # bodies that sanction or decide
    "人民法院": ROLE_ENFORCER,
    "行政复议机关": ROLE_ENFORCER,
    "复议机关": ROLE_ENFORCER,
    "有关主管部门": ROLE_ENFORCER,
    "履行个人信息保护职责的部门": ROLE_ENFORCER,
    "上级机关": ROLE_ENFORCER,
    "公安机关": ROLE_ENFORCER,
    "监察机关": ROLE_ENFORCER,
}

#: Terms that are also the first characters of non-actor nouns (个人信息, 公民个人信息).
_LOOKAHEAD = {
    "个人": r"(?!信息|隐私|图像|身份|权益|所得|的|行使)",
    "公民": r"(?!个人信息|、法人)",
    "单位": r"(?!名义)",
    "当事人": r"(?!一方)",
    "经办机构": r"(?!工作人员)",  # 经办机构工作人员 are its staff
}
#: Terms that are a different actor after these characters: 大型活动承办单位 is an event's
#: organiser (反恐怖主义法第八十七条), often a firm, not a government department.
_LOOKBEHIND = {
    "承办单位": r"(?<!活动)",
}
ACTOR_PATTERN = re.compile(
    "|".join(
        _LOOKBEHIND.get(term, "") + re.escape(term) + _LOOKAHEAD.get(term, "")
        for term in sorted(ACTOR_ROLES, key=len, reverse=True)
    )
)

#: The 直接负责的主管人员… family is always the staff *of* the violating unit.
STAFF_OF_UNIT = {"直接负责的主管人员和其他直接责任人员", "直接负责的主管人员", "其他直接责任人员"}

#: Regulated activity → the actor a clause without a written subject addresses.
ACTIVITY_SUBJECTS: tuple[tuple[str, str], ...] = (
    ("处理人脸信息", "信息处理者"),
    ("处理个人信息", "个人信息处理者"),
    ("向境外提供重要数据", "数据处理者"),
    ("数据处理活动", "数据处理者"),
)

#: Document title → the actor its subjectless sanctions address.
TITLE_SUBJECTS: tuple[tuple[str, str], ...] = (
    ("政务处分法", "公职人员"),
    ("公务员处分条例", "公务员"),
    ("公务员法", "公务员"),
    ("刑法", "行为人"),
)

# --- sanctions ---------------------------------------------------------------------

LIABILITY_KINDS = ("刑事责任", "政务处分", "国家赔偿", "合同责任", "民事责任", "行政补偿", "行政责任", "法律责任")

#: Sanction formulas per liability kind, tried in this order (first match decides).
#: 法律责任 = the article names liability without saying which kind.
SANCTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # a crime defined (`…的，是受贿罪`, `以受贿论处`) is criminal liability of whoever does it;
    # what crime is in general (`…都是犯罪`, `不认为是犯罪`) is not
    ("刑事责任", re.compile(r"追究刑事责任|有期徒刑|拘役|罚金|是(?!犯罪)[^，；。是]{1,12}罪(?![名行状])|以[^，；。]{1,12}论处")),
    ("政务处分", re.compile(r"处分|记大过|记过|降级|撤职|开除")),
    ("国家赔偿", re.compile(r"国家赔偿(?!法)|赔偿费用|给予赔偿|赔偿义务(?!机关)|追偿")),
    ("合同责任", re.compile(r"违约责任|继续履行")),
    ("民事责任", re.compile(r"侵权责任|民事责任|赔偿责任|赔偿损失|损害赔偿|属于侵害[^，；。]*?权益的行为")),
    ("行政补偿", re.compile(r"(?:给予|予以)(?:合理)?补偿|补偿责任")),
    (
        "行政责任",
        re.compile(
            r"罚款|给予警告|没收违法所得|没收|责令改正|责令暂停|责令停产停业|停业整顿|吊销|拘留|"
            r"不良行为记录|禁止参加|禁止其[^，；。]*担任|关闭网站|治安管理处罚|"
            r"(?:责令|判决|决定)[^，；。]{0,10}采取补救措施"
        ),
    ),
    ("行政责任", re.compile(r"撤销(?:或者部分撤销)?该行政行为|确认[^，；。]{0,8}违法|确认无效|变更该行政行为|重新作出")),
    (
        "法律责任",
        re.compile(
            r"追究法律责任|承担法律责任|依法追究责任|予以追究|追究责任|承担责任|予以处理|给予处罚|"
            r"向[^，；。]{1,8}负责(?!人)|规定(?:从重|从轻)?处罚"
        ),
    ),
)

#: Outcomes of review (the reviewed act is undone): their target is the body whose act
#: is reviewed (被申请人 / 被告), never the sentence's first actor.
OUTCOME_SANCTION = SANCTIONS[-2][1]

#: Sanction words preceded by these are part of a condition (`违法实施罚款…的`).
_CONDITION_BEFORE = ("违法", "不服", "对行政", "要求", "请求", "申请")
#: Sanction words right after these are denied, not imposed (`国家不承担赔偿责任`, `不予处罚`).
#: A short qualifier may stand between (`不承担行政赔偿责任`, `免予承担赔偿责任`); `不免除其违约责任`
#: keeps the liability and `免除职务` is itself a sanction.
_NEGATED_BEFORE = re.compile(r"(?:不承担|不负|不予|(?<!不)免除(?!职务)|免予|免于)[^，；。]{0,4}$")

#: How a sanction that follows its target starts (`对X依法给予处分`, `对X处…罚款`).
SANCTION_VERB = re.compile(r"^(?:依法|可以|并|应当|同时)*(?:处|给予|予以|判处|依照|追究|责令|没收|吊销|承担)")

RECOURSE = re.compile(r"追偿|责令[^，；。]*?承担[^，；。]*?赔偿费用")

# --- norms, remedies, fault, time ---------------------------------------------------

DUTY = re.compile(r"应当|必须")
PROHIBITION = re.compile(r"不得|禁止")
POWER = re.compile(r"可以")
DEFINITION = re.compile(r"(?:本法|本条例|本规定|本办法|本解释|前款|本条)所称|是指")

REMEDY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("行政复议", re.compile(r"(?<!被)申请行政复议|提出行政复议申请|复议申请")),
    ("国家赔偿", re.compile(r"取得(?:国家)?赔偿的权利|请求国家赔偿|要求赔偿|请求赔偿(?!损失)|赔偿请求(?!人|时效)|一并提出")),
    ("诉讼", re.compile(r"提起(?:行政)?诉讼|向人民法院起诉|提起民事诉讼")),
    ("民事索赔", re.compile(r"请求赔偿损失|请求损害赔偿")),
    ("行政补偿", re.compile(r"请求[^，；。]{0,12}补偿")),
    ("采购质疑", re.compile(r"提出(?:询问或者)?质疑")),
    ("投诉举报", re.compile(r"投诉|举报")),
)
#: Decisions a reviewing body can make: they are what a remedy obtains.
OUTCOME = re.compile(
    r"撤销(?:或者部分撤销)?该行政行为|确认[^，；。]{0,8}违法|确认无效|变更该行政行为|"
    r"(?:给予|予以)(?:合理)?补偿|承担赔偿责任|采取补救措施|重新作出行政行为"
)
_ADMIN_TITLE = re.compile(r"行政|国家赔偿|复议|处罚|许可|强制|政府信息公开")
#: A suit against an administrative decision, said in words a special law uses without
#: `行政` (注册会计师法第四十一条: 对复议决定不服的…向人民法院起诉; 河道管理条例: 自接到处罚
#: 通知之日起15日内，直接向人民法院起诉) is a 行政诉讼. Checked over the 52 sentences of
#: `default` it reclassifies: all suits against a 处罚 or 复议 decision. Not 裁决 (an
#: arbitral award's suit is civil) nor bare 复议 (a court's 执行 复议 is civil).
ADMIN_DECISION = re.compile(r"复议决定|复议机关|处罚决定|处罚通知|处罚不服|罚款决定|罚款通知|处理决定书")
#: A harm a court's or procuratorate's own unlawful act caused (行政强制法第八条第二款: 因人民法院
#: 在强制执行中有违法行为…受到损害的，有权依法要求赔偿): what is claimed is state compensation
#: (司法赔偿), whatever the title says — never a civil suit.
JUDICIAL_WRONGDOER = re.compile(r"(?:人民法院|人民检察院)[^，；。]{0,20}违法")

_CN_NUM = NUMERAL_CHARS  # amounts and time limits: 十五日, 2万元
TIME_LIMIT = re.compile(
    rf"(?:自[^，；。]{{1,40}}?之日起)?(?<!最后)[{_CN_NUM}]+个?(?:工作日|日|月|年)内|时效为[{_CN_NUM}]+个?(?:日|月|年)"
)
TIME_SPAN = re.compile(rf"[{_CN_NUM}]+个?(?:日|月|年)")

FAULT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("无过错责任", re.compile(r"(?:不论|无论)[^，；。]{0,10}有无过错")),
    ("过错推定", re.compile(r"推定[^，；。]{0,10}有过错|不能证明自己没有过错|能够证明[^，；。]{0,10}没有过错")),
    ("故意或者重大过失", re.compile(r"故意或者重大过失")),
    # who must prove what (行政诉讼法第三十四条 被告负有举证责任; 行政赔偿: 原告应当对损害提供证据)
    ("举证责任", re.compile(r"举证责任|(?:应当|负责)(?:对[^，；。]{1,20})?提供[^，；。]{0,8}证据")),
)
PLAIN_FAULT = re.compile(r"(?:因|由于)?[^，；。]{0,8}过错")

ITEM_START = re.compile(rf"^[（(][{SMALL_NUMERAL_CHARS}]+[）)]")
#: An enumeration item that is a condition (`（一）违法实施罚款…的；`, `…不服；`).
CONDITION_ITEM = re.compile(rf"^[（(][{SMALL_NUMERAL_CHARS}]+[）)].*(?:的|不服)[；;。:：]?$")
#: Segments that only state when something applies (`…损失后`, `…的`).
CONDITION_SEGMENT = re.compile(r"(?:的|后|时|确定)$")
#: A liable actor after 由 (`由责任人承担赔偿责任`), as opposed to an enforcer (`由公安机关处…`).
LIABLE_AFTER_YOU = re.compile(r"^(?:承担|负责|赔偿)")
XREF = re.compile(r"违反本(?:法|条例|规定|办法)((?:第[^，；。]*?条[^，；。]*?)+)规定")
ARTICLE_IN_XREF = re.compile(rf"第([{NUMERAL_CHARS}]+)条(?:至第([{NUMERAL_CHARS}]+)条)?")

BINDING_TYPES = ("法律", "行政法规", "司法解释", "部门规章", "地方性法规")  # never corpus.classify.UNCONFIRMED


# --- records -----------------------------------------------------------------------


@dataclass(frozen=True)
class Liability:
    """One consequence the provision attaches to one actor.

    `subject` is the canonical actor term (`ACTOR_ROLES` key) or "" when unknown;
    `subject_phrase` the actor as written (`有故意或者重大过失的工作人员`); `of_subject`
    the violating unit whose staff is meant (`国家机关` for DSL art. 49). `consequence`
    quotes the article; `inferred` says how a subject the clause does not write was found.
    """

    subject: str
    subject_phrase: str
    kind: str
    consequence: str
    sentence: str
    of_subject: str = ""
    inferred: str = ""  # "" | context | activity | title | xref | outcome
    refers_to: tuple[str, ...] = ()  # article labels of `违反本法第X条规定` (xref)
    recourse: bool = False  # 追偿 / 责令…承担赔偿费用: internal recourse

    @property
    def role(self) -> str:
        return role_of(self.subject)


@dataclass(frozen=True)
class Designation:
    """`X为赔偿义务机关` / `X是被告` / `以X为被告`: who answers to the citizen."""

    role: str  # 赔偿义务机关 | 被告
    subject: str
    subject_phrase: str
    sentence: str


@dataclass(frozen=True)
class RemedyClause:
    """A way for the harmed party to act: kind, holder, time limit (only if stated)."""

    kind: str  # 行政复议 / 行政诉讼 / 国家赔偿 / 民事诉讼 / 行政补偿 / 投诉举报
    holder: str
    time_limit: str
    sentence: str
    outcome: str = ""  # for decisions a reviewing body makes (确认违法, 撤销…)


@dataclass(frozen=True)
class FaultMarker:
    principle: str  # 过错责任 / 过错推定 / 无过错责任 / 故意或者重大过失
    phrase: str
    sentence: str


@dataclass(frozen=True)
class ProvisionClass:
    kinds: tuple[str, ...]
    subjects: tuple[str, ...]
    liabilities: tuple[Liability, ...] = ()
    designations: tuple[Designation, ...] = ()
    remedies: tuple[RemedyClause, ...] = ()
    fault: tuple[FaultMarker, ...] = ()
    time_limits: tuple[str, ...] = ()
    fines: tuple[str, ...] = ()
    duty_sentences: tuple[str, ...] = field(default=(), repr=False)

    def has(self, kind: str) -> bool:
        return kind in self.kinds

    @property
    def liability_kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(l.kind for l in self.liabilities))


# --- small helpers -----------------------------------------------------------------


def role_of(term: str) -> str:
    """Role of a canonical actor term ("" → any actor)."""
    return ACTOR_ROLES.get(term, ROLE_ANY)


def binding_force(doc_type: str) -> str:
    """How far a document can ground liability.

    Laws, administrative regulations, judicial interpretations, departmental rules and
    local regulations bind; a 规范性文件 binds its addressees but is normally not a
    source of legal liability; plans and scholarship do not bind at all.
    """
    if doc_type in BINDING_TYPES:
        return f"有约束力（{doc_type}）"
    if doc_type == "规范性文件":
        return "规范性文件（一般不作为责任依据）"
    if doc_type == UNCONFIRMED:
        return "效力待确认（制定机关不明，不作为责任依据）"
    if doc_type == "案例":
        return "参考（案例）"
    return f"无约束力（{doc_type or '未知类型'}）"


def is_liability_source(doc_type: str) -> bool:
    return doc_type in BINDING_TYPES


def sentences(text: str) -> list[str]:
    """Sentences of an article: split at 。 and line breaks (paragraphs, items)."""
    out = []
    for line in text.splitlines():
        out.extend(s.strip() for s in re.split(r"(?<=。)", line) if s.strip())
    return out


def actors_in(text: str) -> list[re.Match[str]]:
    """Actor mentions, left to right, longest term at each position."""
    return list(ACTOR_PATTERN.finditer(text))


def _after_you(text: str, start: int, end: int | None = None) -> bool:
    """An actor right after 由 is normally the body that acts on someone else
    (`由其上级机关责令改正`) — unless what follows is its own liability (`由责任人承担`)."""
    if not text[max(0, start - 2) : start].endswith(("由", "由其")):
        return False
    return end is None or not LIABLE_AFTER_YOU.match(text[end:])


#: An act done *to* someone (`阻碍国家机关工作人员依法执行职务`, `威胁热线受理人员、工作人员`,
#: `冒充国家机关工作人员`), ending where its object starts: no comma and no 的 between (`拒绝
#: 提供信息的单位` is the one who refuses, the doer).
ACTED_ON_VERB = re.compile(r"拒绝|阻碍|妨碍|阻挠|抗拒|威胁|殴打|侮辱|诽谤|报复|骚扰|冒充|假冒|诬告|陷害|收买")
ACTED_ON = re.compile(rf"(?:{ACTED_ON_VERB.pattern})[^，；。：的]{{0,12}}$")


def _acted_on(text: str, start: int) -> bool:
    """The actor at `start` is the object of an act against it: the person obstructed,
    threatened or impersonated does not answer for it — whoever did it does (刑法第二百七十七条
    妨害公务, 12345 条例's callers who threaten its staff). Staff written `X及其工作人员` are
    acted on with X (`拒绝、阻碍国务院授权的部门及其工作人员`)."""
    if ACTED_ON.search(text[:start]):
        return True
    if text[:start].endswith("及其"):
        name = _name_before(text, start - 2)
        return bool(ACTED_ON_VERB.search(name)) or _acted_on(text, start - 2 - len(name))
    return False


def _first_subject(text: str) -> re.Match[str] | None:
    """First actor addressed by a text; `X…单位的工作人员` means the staff, not X; an actor
    acted on (`_acted_on`) is not addressed."""
    found = [
        m
        for m in actors_in(text)
        if not _after_you(text, m.start(), m.end()) and role_of(m.group()) != ROLE_ENFORCER
        and not _acted_on(text, m.start())
    ]
    if not found:
        return None
    first = found[0]
    if role_of(first.group()) in (ROLE_GOV, ROLE_FIRM):
        segment_end = re.search(r"[，；。]|$", text[first.end():]).start() + first.end()
        for later in found[1:]:
            if later.start() < segment_end and role_of(later.group()) == ROLE_STAFF and text[later.start() - 1] == "的":
                return later
    return first


def _is_remedy(segment: str) -> bool:
    return any(p.search(segment) for _, p in REMEDY_PATTERNS)


def _sanction_kind(segment: str, title: str) -> tuple[str, int] | None:
    """(kind, start of the formula) of a sanction in a comma segment, or None.

    A segment that claims a remedy (`委托人可以请求赔偿损失`) or only states a condition
    (`赔偿义务机关赔偿损失后`, `…应当承担侵权责任的`) carries no sanction.
    """
    if _is_remedy(segment) or CONDITION_SEGMENT.search(segment.strip()):
        return None
    for kind, pattern in SANCTIONS:
        for m in pattern.finditer(segment):
            before = segment[max(0, m.start() - 8) : m.start()]
            if any(before.endswith(c) or c in before for c in _CONDITION_BEFORE) or _NEGATED_BEFORE.search(before):
                continue
            if segment[m.end():].startswith(("的能力", "的条件", "的资格", "能力")):
                continue  # a qualification (`具有独立承担民事责任的能力`, `…法律责任能力的机构`), not a sanction
            if kind == "法律责任" and "刑法" in title:
                kind = "刑事责任"
            if kind == "国家赔偿" and m.group() == "追偿" and title and not _ADMIN_TITLE.search(title):
                kind = "民事责任"  # an employer's or insurer's recourse (民法典第一千一百九十一条) is civil
            return kind, m.start()
    return None


def _clean_consequence(text: str) -> str:
    """Drop connectives that belong to the clause, not the sanction (`并处…` → `处…`)."""
    text = text.strip("，；。：、 ")
    text = re.sub(r"^(?:同时|或者|应当|可以)+(?=处|给予|予以|依法|责令|没收|吊销|追究|承担|判处|对|并)", "", text)
    return re.sub(rf"^(?:并|可以并)(?=处[{_CN_NUM}])", "", text)


def _subject_from_span(span: str) -> tuple[str, str] | None:
    """(term, phrase) of the first actor in a span like `有故意或者重大过失的责任人员`."""
    for m in actors_in(span):
        if role_of(m.group()) == ROLE_ENFORCER:
            continue
        return m.group(), span[: m.end()].lstrip("其")
    return None


# --- liability extraction ------------------------------------------------------------


def _segment_targets(segment: str) -> list[tuple[str, str, int]]:
    """Targets a segment names explicitly, with the position where its sanction text starts.

    Handles `对(其)X…`, `责令X…承担`, `判决X承担` / `判决责令X` and `属于X的`.
    """
    m = re.search(r"(?:^|[^反相针绝面])对其?", segment)
    if m:
        after = segment[m.end():]
        actor = next((a for a in actors_in(after) if role_of(a.group()) != ROLE_ENFORCER), None)
        modifier = after[: actor.start()] if actor else ""
        if actor and (not modifier or modifier.endswith("的")):
            end = m.end() + actor.end()
            rest = segment[end:]
            if not rest.strip() or (_sanction_kind(rest, "") and SANCTION_VERB.match(rest)):
                return [(actor.group(), modifier + actor.group(), end)]
    m = re.search(r"查明(?P<span>[^，；。]*?)的?责任", segment)
    if m:
        hits = [a for a in actors_in(m.group("span")) if role_of(a.group()) != ROLE_ENFORCER]
        if hits:
            return [(a.group(), a.group(), m.end()) for a in hits]
    m = re.search(r"(?:责令|判决|判令|决定)+(?P<span>[^，；。]*?)(?=承担|采取|依法|重新|予以|给予|上缴)", segment)
    if m:
        hits = [a for a in actors_in(m.group("span")) if role_of(a.group()) != ROLE_ENFORCER]
        if hits:
            first = hits[0]
            phrase = m.group("span")[: first.end()]
            out = [(first.group(), phrase, m.end("span"))]
            out += [(a.group(), a.group(), m.end("span")) for a in hits[1:]]
            return out
    m = re.match(r"^属于(?P<span>[^，；。]+?)的$", segment)
    if m:
        found = _subject_from_span(m.group("span"))
        if found:
            return [(found[0], found[1], len(segment))]
    return []


def _xref_articles(sentence: str) -> tuple[str, ...]:
    """`违反本条例第十二条、第十六条至第二十条…规定` → (第十二条, 第十六条, …, 第二十条)."""
    m = XREF.search(sentence)
    if not m:
        return ()
    labels: list[str] = []
    for a in ARTICLE_IN_XREF.finditer(m.group(1)):
        start = chinese_to_int(a.group(1))
        end = chinese_to_int(a.group(2)) if a.group(2) else start
        labels.extend(article_label(n) for n in range(start, min(end, start + 50) + 1))
    return tuple(dict.fromkeys(labels))


def _name_before(text: str, end: int) -> str:
    """The whole name that ends at `end` (back to a comma, an enumeration mark or the start)."""
    start = end
    while start > 0 and text[start - 1] not in "，；。：、（）":
        start -= 1
    return text[start:end]


def _owned_phrase(text: str, staff: re.Match[str]) -> str:
    """`履行个人信息保护职责的部门的工作人员`: staff named after the body they belong to — a
    deciding body (ENFORCER) that `_first_subject` skips — keep that body in the phrase, so
    the row says whose staff it is."""
    if role_of(staff.group()) != ROLE_STAFF or not text[: staff.start()].endswith("的"):
        return staff.group()
    owner = next((a for a in actors_in(text[: staff.start() - 1]) if a.end() == staff.start() - 1), None)
    if owner is None or role_of(owner.group()) != ROLE_ENFORCER:
        return staff.group()
    return _name_before(text, owner.start()) + text[owner.start() : staff.end()]  # the body's whole name


#: Liabilities that are personal: a body named with its staff (`X及其工作人员`) answers itself
#: for what a body answers for (责令改正, 警告, 赔偿); 处分 and crimes are its staff's.
PERSONAL_KINDS = frozenset({"政务处分", "刑事责任"})
#: The name of a state body (`县级以上人民政府农业主管部门`, `税务机关`, `药品监督管理部门`).
_STATE_BODY = re.compile(r"(?:机关|部门|政府|委员会|局)$")
#: The canonical term of a state body the actor lexicon does not know (its role: ROLE_GOV).
STATE_BODY_TERM = "行政机关"
WITH_STAFF = "及其工作人员"


@dataclass(frozen=True)
class BodyWithStaff:
    """`X及其工作人员` as the subject of a sentence: the body (term, phrase as written) and its
    staff; `known` when X is a term of the actor lexicon (国家机关, 有关部门)."""

    body: str
    body_phrase: str
    known: bool

    def target(self, kind: str) -> tuple[str, str, str]:
        """(term, phrase, of_subject) that answers a liability of `kind`."""
        if kind not in PERSONAL_KINDS:
            return self.body, self.body_phrase, ""
        return "工作人员", "工作人员", self.body if self.known else ""


def _body_with_staff(text: str, subject: re.Match[str]) -> BodyWithStaff | None:
    """The `X及其工作人员` a sentence's first subject belongs to, if written so and X is a
    state body: the subject is the staff after an unknown X (`农业主管部门及其工作人员`) or a
    government term followed by 及其工作人员 (`有关部门及其工作人员`). A body acted on
    (`阻碍…部门及其工作人员`) is never a sentence's subject (`_first_subject`), and a body
    that decides or sanctions (`监察机关`, `公安机关`: ROLE_ENFORCER) is never a liable party
    (the lexicon's rule), so its staff stay as they were read."""
    term = subject.group()
    if role_of(term) == ROLE_STAFF and text[: subject.start()].endswith("及其"):
        name = _name_before(text, subject.start() - 2)
        enforcer = any(role_of(a.group()) == ROLE_ENFORCER and a.end() == len(name) for a in actors_in(name))
        return BodyWithStaff(STATE_BODY_TERM, name, known=False) if _STATE_BODY.search(name) and not enforcer else None
    if role_of(term) == ROLE_GOV and text.startswith(WITH_STAFF, subject.end()):
        return BodyWithStaff(term, term, known=True)
    return None


def _default_subject(
    sentence: str, context: tuple[str, str, str] | None, title: str
) -> tuple[str, str, str] | None:
    """(term, phrase, how) of the actor a sentence's sanctions address by default."""
    first_sanction = len(sentence)
    for segment_match in re.finditer(r"[^，；：]+", sentence):
        if _sanction_kind(segment_match.group(), title):
            first_sanction = segment_match.start()
            break
    m = _first_subject(sentence[:first_sanction])
    if m:
        return m.group(), _owned_phrase(sentence, m), ""
    if context:
        return context[0], context[1], "context"
    for activity, term in ACTIVITY_SUBJECTS:
        if activity in sentence:
            return term, term, "activity"
    for key, term in TITLE_SUBJECTS:
        if key in title:
            return term, term, "title"
    return None


def _outcome_target(title: str) -> tuple[str, str, str, str]:
    """Whose act a review outcome undoes when the clause does not say: the respondent."""
    term = "被申请人" if "复议" in title else "被告"
    return (term, term, "", "outcome")


def extract_liabilities(text: str, title: str = "") -> list[Liability]:
    """All (target, kind, consequence) triples of a provision, in text order."""
    out: list[Liability] = []
    context: tuple[str, str, str] | None = None
    for sentence in sentences(text):
        if CONDITION_ITEM.match(sentence):
            continue
        if ITEM_START.match(sentence) and not (actors_in(sentence) or "承担" in sentence):
            continue  # an item of a list of sanction types (`（二）罚款、没收违法所得…`) names no one
        default = _default_subject(sentence, context, title)
        first = _first_subject(sentence) if default and default[2] == "" and WITH_STAFF in sentence else None
        pair = _body_with_staff(sentence, first) if first and first.group() == default[0] else None
        if default and default[2] in ("", "activity", "title"):
            context = (default[0], default[1], "context")
        refers = _xref_articles(sentence)
        for clause in re.split(r"[；;]", sentence):
            targets: list[tuple[str, str, str, str]] = []  # term, phrase, of_subject, how
            if default:
                targets = [(default[0], default[1], "", "pair" if pair else default[2])]
            elif refers:
                targets = [("", "", "", "xref")]
            pieces: dict[tuple[str, str, str, str, str], list[str]] = {}
            segments = [seg for seg in re.split(r"[，：:]", clause) if seg.strip()]
            for index, segment in enumerate(segments):
                named = _segment_targets(segment)
                start_after = named[0][2] if named else 0
                if named:
                    violator = default[0] if default else ""
                    targets = [
                        (t, p, violator if t in STAFF_OF_UNIT and violator not in STAFF_OF_UNIT else "", "")
                        for t, p, _ in named
                    ]
                body = segment[start_after:]
                found = _sanction_kind(body, title) or (_sanction_kind(segment, title) if named else None)
                if not found and named and index + 1 < len(segments) and "应予支持" in segments[index + 1]:
                    # `原告请求判令被告给予补偿的，人民法院应予支持`: the court grants it
                    body = re.sub(r"的$", "", body)
                    found = _sanction_kind(body, title)
                if not found:
                    continue
                seg_targets = targets
                if not named:
                    inline = _first_subject(segment[: found[1]])
                    recovers = (segment.startswith("追偿", found[1]) and "向" not in segment[: found[1]]
                                and not segment[: found[1]].endswith("被"))
                    if inline and not recovers:  # `经办机构可以…追偿` names who recovers, not who answers
                        targets = seg_targets = [(inline.group(), inline.group(), "", "")]
                    elif OUTCOME_SANCTION.search(body) and not any(role_of(t[0]) == ROLE_GOV for t in targets):
                        seg_targets = [_outcome_target(title)]
                consequence = _clean_consequence(body if named else segment)
                for term, phrase, of_subject, how in seg_targets or [("", "", "", "")]:
                    key = (term, phrase, of_subject, how, found[0])
                    pieces.setdefault(key, []).append(consequence)
            for (term, phrase, of_subject, how, kind), parts in pieces.items():
                if how == "pair":  # the default subject, written `X及其工作人员`: the body or its staff
                    term, phrase, of_subject = pair.target(kind)
                    how = ""
                if kind == "民事责任" and role_of(term) == ROLE_GOV and _ADMIN_TITLE.search(title):
                    kind = "国家赔偿"  # damages owed by an administrative body are state compensation
                if term in STAFF_OF_UNIT and not of_subject and pair and not pair.known:
                    of_subject = STATE_BODY_TERM  # the staff in charge of the body written `X及其工作人员`
                elif term in STAFF_OF_UNIT and not of_subject and default and default[0] not in STAFF_OF_UNIT:
                    of_subject = default[0]
                out.append(
                    Liability(
                        subject=term,
                        subject_phrase=phrase,
                        kind=kind,
                        consequence="，".join(parts),
                        sentence=sentence,
                        of_subject=of_subject,
                        inferred=how,
                        refers_to=refers if how == "xref" else (),
                        recourse=bool(RECOURSE.search(clause)),
                    )
                )
    return out


# --- designations, remedies, fault, time ---------------------------------------------

_DESIGNATIONS = (
    ("赔偿义务机关", re.compile(r"(?:^|[，；：])(?P<who>[^，；。：]*?)为(?:共同)?赔偿义务机关")),
    ("被告", re.compile(r"(?:^|[，；：])以(?P<who>[^，；。：]*?)为(?:共同)?被告")),
    ("被告", re.compile(r"(?:^|[，；：])(?P<who>[^，；。：]*?)是(?:共同)?被告")),
)


def extract_designations(text: str) -> list[Designation]:
    out = []
    for sentence in sentences(text):
        for role, pattern in _DESIGNATIONS:
            for m in pattern.finditer(sentence):
                who = m.group("who").strip()
                if not who:
                    continue
                actors = actors_in(who)
                term = actors[-1].group() if actors else who
                out.append(Designation(role=role, subject=term, subject_phrase=who, sentence=sentence))
    return out


def litigation_kind(sentence: str, title: str) -> str:
    """民事诉讼 or 行政诉讼 for a `提起诉讼` sentence, by its words and the document title."""
    if "民事诉讼" in sentence:
        return "民事诉讼"
    if "行政" in sentence or ADMIN_DECISION.search(sentence) or _ADMIN_TITLE.search(title):
        return "行政诉讼"
    return "民事诉讼"


def time_limits(text: str) -> list[str]:
    """Time limits as stated (`自知道…之日起六十日内`, `时效为两年`)."""
    return [m.group() for m in TIME_LIMIT.finditer(text)]


#: A period counted from the authority's receipt (`自受理之日起三十日内`, `自收到投诉之日起
#: 七个工作日内`) is how long the authority has to act — never the person's deadline; the
#: person's own periods count from what happens to them (知道, 收到决定书, 送达).
_RECEIVED = r"(?:投诉|举报|申请|请求|材料)"  # what the authority receives (the one list of both patterns)
AUTHORITY_CLOCK = re.compile(rf"自(?:正式)?受理|自(?:收到|接到)[^，；。]{{0,6}}{_RECEIVED}")
#: The same, said before the limit: `行政复议机关收到行政复议申请后，应当在五日内进行审查`.
AFTER_RECEIPT = re.compile(rf"(?:收到|接到)[^，；。]{{0,12}}{_RECEIVED}[^；。]{{0,10}}$")


#: A period is a deadline only when it is a window: `时效为…`; `…内` or `…前` in a sentence
#: that obliges someone (应当) or names what a person does (`PERSON_ACTS`); an outer limit
#: (`最长不得超过一年`, `超过二十年`) in a sentence naming what a person does. Otherwise it is
#: a duration: how long data is kept (`应当保存不少于30日`, `保存期限…为5年`), a measure
#: lasts (`查封、扣押的期限不得超过三十日`), an offence stays punishable (`违法行为在二年内
#: 未被发现的`) or a wait runs (`自公示之日起届满三个月的`) — no one's deadline to act.
PERSON_ACTS = re.compile(r"提出|申请|起诉|诉讼|请求|投诉|举报|质疑|复查|复核|主张|异议")
_WINDOW_AFTER = re.compile(r"^以?[内前]")
_PRESCRIPTION = re.compile(r"时效(?:期间)?为$")
_OUTER_LIMIT = re.compile(r"超过$")


def is_deadline(sentence: str, before: str, after: str) -> bool:
    """Is the period stated between `before` and `after` (the words either side of it in
    its segment of `sentence`) a deadline to act, not a duration? See `PERSON_ACTS`."""
    acts = bool(PERSON_ACTS.search(sentence))
    if _PRESCRIPTION.search(before):
        return True
    if _WINDOW_AFTER.match(after):
        return acts or "应当" in sentence
    return acts and bool(_OUTER_LIMIT.search(before))


def is_outer_limit(before: str) -> bool:
    """A period after `超过` / `不得超过` (`最长不得超过一年`, `超过二十年…不予受理`) is the
    longest a claim can wait, not the ordinary deadline (`六十日内`) of the same remedy."""
    return bool(_OUTER_LIMIT.search(before))


#: A window that looks back (`提供此前三年内实际使用该注册商标的证据`, `违法行为在二年内未被
#: 发现的`) says what happened within a past period — no one's deadline to act.
LOOK_BACK_BEFORE = re.compile(r"(?:此前|之前|以前|过去|最近|近|前)$")
LOOK_BACK_AFTER = re.compile(r"^(?:未|没有)被")


def person_time_limits(text: str) -> list[str]:
    """The time limits of `text` that bind the person who claims: not those counted from
    the authority's receipt (`AUTHORITY_CLOCK` at the start of the limit, where its
    `自…之日起` is, or `AFTER_RECEIPT` just before it), nor a window that looks back
    (`LOOK_BACK_BEFORE`, `LOOK_BACK_AFTER`)."""
    return [m.group() for m in TIME_LIMIT.finditer(text)
            if not AUTHORITY_CLOCK.match(m.group()) and not AFTER_RECEIPT.search(text[max(0, m.start() - 30):m.start()])
            and not LOOK_BACK_BEFORE.search(text[:m.start()]) and not LOOK_BACK_AFTER.match(text[m.end():])]


def extract_remedies(text: str, title: str = "") -> list[RemedyClause]:
    out: list[RemedyClause] = []
    for sentence in sentences(text):
        if ITEM_START.match(sentence):
            continue
        limits = person_time_limits(sentence)
        first_claim = min((m.start() for _, p in REMEDY_PATTERNS for m in p.finditer(sentence)), default=len(sentence))
        before = [a.group() for a in actors_in(sentence[:first_claim]) if role_of(a.group()) != ROLE_ENFORCER]
        holder = before[-1] if before else ""
        kinds: list[str] = []
        for kind, pattern in REMEDY_PATTERNS:
            if pattern.search(sentence):
                if kind == "诉讼":
                    kind = litigation_kind(sentence, title)
                elif (kind == "国家赔偿" and "赔偿" not in title and "国家赔偿" not in sentence and "行政" not in sentence
                      and not JUDICIAL_WRONGDOER.search(sentence)):
                    kind = "民事诉讼"
                elif kind == "民事索赔":
                    kind = "民事诉讼"
                kinds.append(kind)
        for kind in dict.fromkeys(kinds):
            out.append(RemedyClause(kind=kind, holder=holder, time_limit="；".join(limits), sentence=sentence))
        if not kinds:
            outcome = OUTCOME.search(sentence)
            if outcome and re.search(r"复议机关(?:应当)?(?:决定|确认)|人民法院(?:应当|可以)?(?:判决|应予支持)|判决", sentence):
                kind = "行政复议" if "复议机关" in sentence else "行政诉讼" if _ADMIN_TITLE.search(title) else "民事诉讼"
                out.append(RemedyClause(kind=kind, holder="", time_limit="", sentence=sentence, outcome=outcome.group()))
    return out


def extract_fault(text: str) -> list[FaultMarker]:
    out = []
    for sentence in sentences(text):
        special = False
        for principle, pattern in FAULT_PATTERNS:
            for m in pattern.finditer(sentence):
                out.append(FaultMarker(principle, m.group(), sentence))
                special = True
        if not special and "过错" in sentence and re.search(r"责任|赔偿", sentence):
            m = PLAIN_FAULT.search(sentence)
            out.append(FaultMarker("过错责任", m.group() if m else "过错", sentence))
    return out


# --- the classifier ----------------------------------------------------------------


def classify_provision(text: str, *, title: str = "") -> ProvisionClass:
    """Kinds, subjects, liabilities, designations, remedies, fault markers of one provision.

    `title` (the document title) only helps where the text relies on it: subjectless
    sanctions in 刑法 / 政务处分法, and whether `提起诉讼` means an administrative suit.
    """
    kinds: list[str] = []
    subjects: list[str] = []
    duty_sentences: list[str] = []
    liabilities = extract_liabilities(text, title)
    remedies = extract_remedies(text, title)
    designations = extract_designations(text)
    for sentence in sentences(text):
        for clause in re.split(r"[；;]", sentence):
            segments = [s for s in re.split(r"[，：:]", clause) if s]
            modal_at = None
            for segment in segments:
                is_sanction = bool(_sanction_kind(segment, title))
                is_remedy = _is_remedy(segment)
                if DUTY.search(segment) and not is_sanction:
                    kinds.append("duty")
                    duty_sentences.append(sentence)
                if PROHIBITION.search(segment) and not is_sanction:
                    kinds.append("prohibition")
                    duty_sentences.append(sentence)
                if POWER.search(segment) and not is_sanction and not is_remedy:
                    kinds.append("power")
            for m in re.finditer(r"应当|必须|不得|禁止|可以|有权|为(?:共同)?赔偿义务机关|是(?:共同)?被告", clause):
                modal_at = m.start()
                break
            if modal_at is not None:
                subjects += [a.group() for a in actors_in(clause[:modal_at]) if not _after_you(clause, a.start())]
        if DEFINITION.search(sentence):
            kinds.append("definition")
    if liabilities:
        kinds.append("liability")
        subjects += [l.subject for l in liabilities if l.subject and not l.inferred]
    if any(not r.outcome for r in remedies):
        kinds.append("remedy")
    if re.search(r"有权[^，；。]*(?:申请|提起|要求|请求)", text):
        kinds.append("remedy")
    fines = tuple(m.group() for m in re.finditer(r"处[^，；。处]*?罚款", text))
    order = ("duty", "prohibition", "liability", "remedy", "power", "definition")
    return ProvisionClass(
        kinds=tuple(k for k in order if k in kinds),
        subjects=tuple(dict.fromkeys(s for s in subjects if role_of(s) != ROLE_ENFORCER)),
        liabilities=tuple(liabilities),
        designations=tuple(designations),
        remedies=tuple(remedies),
        fault=tuple(extract_fault(text)),
        time_limits=tuple(time_limits(text)),
        fines=fines,
        duty_sentences=tuple(dict.fromkeys(duty_sentences)),
    )
