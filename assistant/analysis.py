"""Responsibility analysis (谁对X负责) built only from retrieved evidence — no model.

Input: the question and the evidence (retrieved articles with their metadata).
Output: `assistant.records.Analysis` with

* 情形 `scenario`: actors / harms / relations recognised in the question with the
  keyword tables below (lay words included: 倒卖, 红码, 外包, 中标 …); keys `actors`,
  `harms`, `relations`, `harm_terms` and `actor_terms:<role>` (the question's words);
* 责任主体 `parties`: the liability clauses of binding evidence, read by
  `assistant.provisions` and mapped to the question's actors (`Party.question_actor`),
  one row per party of the story with all its liability kinds and articles
  (`group_parties`);
* 外部责任 / 内部责任 / 个人责任 / 归责原则 slots, each statement quoting its article;
* 救济途径 `remedies` with time limits only where the cited text states them;
* 依据 `citations`: every cited article with text, version status, binding force, source;
* 结论 `conclusion` (`conclude`): 3–6 cited lines — what each party must do (only when
  asked: `duty`), who answers to the harmed person first, internally, individually, who
  has to prove what (only when asked: `burden_of_proof`), and what the person can do by
  when; a layer without support is one 无依据 line, filled from the recognised issues'
  provisions for that layer when they have one.

Rules that keep the analysis honest:

1. Every statement carries basis refs (`<law><article>`) taken from the evidence; a slot
   category with nothing to cite gets a placeholder `Slot(no_basis=True)` and its name
   in `Analysis.no_basis` (rendered as 无依据).
2. Only binding documents (法律/行政法规/司法解释/部门规章/地方性法规) ground parties
   and slots. 规范性文件, 规划 and 学术文献 are cited for context only.
3. The scholarship paper's framework (government answers outward first; fault vs
   no-fault recourse by algorithm complexity) is offered only as a `学理观点`-labelled
   slot with its bibliographic citation, and only when the paper is in the evidence or
   passed as `scholarship=` — then its paragraph becomes evidence like any other, so it
   is verified and cited. It never fills a slot's legal basis: a category supported
   only by 学理观点 is still listed in `no_basis`.
4. `verify` runs last: every reference must be an evidence ref (and resolve in the
   index when `resolve` is given); anything else is removed and listed in
   `removed_references`.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from assistant.issue_map import cited_laws
from assistant.provisions import (
    ACTOR_ROLES,
    AUTHORITY_CLOCK,
    ITEM_START,
    JUDICIAL_WRONGDOER,
    ROLE_ANY,
    ROLE_CITIZEN,
    ROLE_ENFORCER,
    ROLE_FIRM,
    ROLE_GOV,
    ROLE_STAFF,
    Liability,
    ProvisionClass,
    actors_in,
    binding_force,
    classify_provision,
    is_deadline,
    is_liability_source,
    is_outer_limit,
    litigation_kind,
    role_of,
)
from assistant.provisions import sentences as article_sentences
from assistant.records import (
    LAYER_SLOTS,
    SLOT_NAMES,
    Analysis,
    ConclusionLine,
    Designation,
    Evidence,
    Party,
    RecognisedIssue,
    Remedy,
    Slot,
    Understanding,
)
from assistant.refs import split_ref
from assistant.vocabulary import lay_names
from corpus.numerals import NUMERAL_CHARS, chinese_to_int
from corpus.versions import title_key

if TYPE_CHECKING:
    from corpus.records import Document

# --- keyword tables for the question -------------------------------------------------

#: Lay and legal words → the role they name in the question. Longer words first at
#: matching time; `局` alone is enough for 大数据局 / 市场监管局.
ACTOR_KEYWORDS: dict[str, tuple[str, ...]] = {
    ROLE_GOV: (
        "大数据管理局", "大数据中心", "大数据局", "行政机关", "国家机关", "政府", "部门", "街道办", "街道",
        "指挥部", "委员会", "采购人", "采购单位", "政务服务机构", "机关", "委托方", "局", "城管",
        "区里", "市里", "县里", "镇里", "乡里", "窗口", "社区", "村委会", "人民政府", "公共管理和服务机构",
        "公共服务机构", "事业单位",
    ),
    ROLE_FIRM: (
        "科技公司", "公司", "企业", "供应商", "中标", "承建", "运维", "运营", "服务商", "开发商", "外包",
        "受托", "处理者", "运营者", "分包", "平台方",
    ),
    ROLE_STAFF: ("工作人员", "工程师", "员工", "公务员", "公职人员", "采购人员", "干部", "职员", "人员"),
    ROLE_CITIZEN: ("市民", "居民", "公民", "群众", "申请人", "相对人", "储户", "我"),
}

HARM_KEYWORDS: dict[str, tuple[str, ...]] = {
    "数据泄露": ("泄露", "倒卖", "外泄", "出售", "导出", "非法提供", "转发", "泄漏", "贩卖", "窃取"),
    "数据出境": ("境外", "出境"),
    "算法或自动化决策错误": ("算法", "自动", "系统错误", "秒批", "健康码", "赋码", "红码", "黄码"),
    "违法决定": ("罚款", "处罚", "罚单", "许可", "不予", "决定"),
    "违约": ("违约", "合同", "协议"),
    "不公开": ("不公开", "信息公开", "公开"),
    "超范围收集或使用个人信息": ("收集", "人脸", "摄像头", "宗教信仰", "病史", "商业客流"),
    "篡改数据": ("篡改",),
    "串通受贿": ("贿赂", "串通", "受贿", "行贿"),
    "网络安全事件": ("网络安全", "安全事件"),
}

RELATION_KEYWORDS: dict[str, tuple[str, ...]] = {
    "委托": ("委托", "外包", "运维", "受托"),
    "政府采购": ("政府采购", "采购", "中标", "招标", "投标"),
    "授权": ("授权",),
    "行政协议": ("协议", "特许经营"),
    "分包": ("分包", "转委托"),
}
#: Relations that tie a commissioning body to a contractor: they name both sides, and only
#: between those sides is there an internal allocation (内部分担) to state.
COMMISSION_RELATIONS = frozenset({"委托", "政府采购", "行政协议", "分包"})

THIRD_PARTY = "第三人"  # a statute's someone other than the organ and the harmed person
#: Lay words for a private wrongdoer outside any organisation (`他人冒用身份证`, `餐馆老板`):
#: a question naming one asks about rules that bind whoever does the act.
PRIVATE_WRONGDOERS = ("他人", "别人", "冒用", "盗用", "冒名", "黑客", "老板", "不法分子", "犯罪分子", "骗子",
                      THIRD_PARTY, "行为人", "陌生人")

#: Characters that end the left expansion of a question term (`一家科技公司` → 科技公司).
_TERM_STOP = set("的了和与及、，。；：“”\"（）()某一家该名位个其我们在由对向把被将给让为是数十百千万条如果若当但而并且又也就都只")

#: Liability pairs, and search hits after the first `ROW_SEARCH_DEPTH`, give party rows only
#: within the laws of this many leading hits (`_row_reads`).
PAIR_LAW_DEPTH = 2
ROW_SEARCH_DEPTH = 8

SCHOLARSHIP_LABEL = "学理观点"
DUTY_LIABILITY = "违反义务（本条未规定后果）"
SCHOLARSHIP_KEYWORDS = {
    "external": ("外部责任",),
    "fault_principle": ("无过错责任", "过错责任", "归责原则"),
}


# --- scenario -------------------------------------------------------------------------


def _expand_left(text: str, start: int, taken: list[tuple[int, int]], limit: int = 4) -> int:
    """Grow a keyword to the name it ends (`科技公司`, `市大数据局`), never into another match."""
    while (
        limit
        and start > 0
        and text[start - 1] not in _TERM_STOP
        and "\u4e00" <= text[start - 1] <= "\u9fff"
        and not any(a <= start - 1 < b for a, b in taken)
    ):
        start -= 1
        limit -= 1
    return start


def _grows(word: str) -> bool:
    """Single-character keywords are whole words (`我`), except `局` which ends a name;
    `区里` / `市里` are whole words too (a place said plainly, not the end of a name)."""
    return (len(word) > 1 and not word.endswith("里")) or word == "局"


def _matches(question: str, table: dict[str, tuple[str, ...]], expand: bool = False) -> dict[str, list[str]]:
    """Label → words of the question that matched (longest keyword wins per position)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    taken: list[tuple[int, int]] = []
    entries = sorted(((w, label) for label, words in table.items() for w in words), key=lambda x: -len(x[0]))
    for word, label in entries:
        for m in re.finditer(re.escape(word), question):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            spans.setdefault(label, []).append((m.start(), m.end()))
    return {
        label: list(
            dict.fromkeys(
                question[(_expand_left(question, a, taken) if expand and _grows(question[a:b]) else a) : b]
                for a, b in sorted(found)
            )
        )
        for label, found in spans.items()
    }


def recognise_scenario(question: str) -> dict[str, list[str]]:
    """情形: roles, harms and relations named in the question, with the words that named them."""
    # `政府采购` names a relation, not an actor: hide it from the actor tables
    actors = _matches(question.replace("政府采购", "〇〇〇〇"), ACTOR_KEYWORDS, expand=True)
    harms = _matches(question, HARM_KEYWORDS)
    relations = _matches(question, RELATION_KEYWORDS)
    scenario: dict[str, list[str]] = {
        "actors": [role for role in ACTOR_KEYWORDS if role in actors],
        "harms": [h for h in HARM_KEYWORDS if h in harms],
        "relations": [r for r in RELATION_KEYWORDS if r in relations],
    }
    for role, words in actors.items():
        scenario[f"actor_terms:{role}"] = words
    scenario["harm_terms"] = [w for h in scenario["harms"] for w in harms[h]]
    return scenario


# --- evidence helpers -------------------------------------------------------------------


def format_citation(citation: dict) -> str:
    """`作者. 标题[J]. 期刊, 年. DOI: …` from a paper's Document.extra["citation"]."""
    parts = [citation.get("author", ""), f"{citation.get('title', '')}[J]", citation.get("journal", "")]
    text = ". ".join(p for p in parts if p)
    if citation.get("year"):
        text += f", {citation['year']}"
    if citation.get("doi"):
        text += f". DOI: {citation['doi']}"
    return text


def unit_label(unit) -> str:
    """Citable label of a unit: its number, or section + position for unnumbered paragraphs."""
    if unit.number:
        return unit.number
    section = unit.path[-1].split(" ")[0].rstrip(".") if unit.path else ""
    index = unit.unit_id.rsplit(":", 1)[-1]
    return f"{section}节第{index}段" if section else f"{unit.kind}{index}"


def evidence_from_unit(doc, unit, *, rank: int = 0, origin: str = "search") -> Evidence:
    """An Evidence record for a unit of a parsed Document (tests, scholarship, lookups)."""
    citation = doc.extra.get("citation") if isinstance(doc.extra, dict) else None
    return Evidence(
        unit_id=unit.unit_id,
        doc_id=doc.doc_id,
        law=doc.title,
        article=unit_label(unit),
        text=unit.text,
        doc_type=doc.doc_type,
        status=doc.status,
        version_date=doc.version_date,
        chapter=" / ".join(unit.path),
        source=doc.source_path,
        page=unit.page,
        region=doc.region,
        kind=unit.kind,
        rank=rank,
        origin=origin,
        citation=format_citation(citation) if citation else "",
        repealed_by=doc.repealed_by,
    )


# --- the analysis -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    """One binding evidence article and its classification."""

    evidence: Evidence
    provision: ProvisionClass


@functools.lru_cache(maxsize=8192)
def _classified(text: str, title: str) -> ProvisionClass:
    """`classify_provision`, remembered (its result is immutable): the same articles recur
    across questions, and the 结论 fill reads the issues' provisions again."""
    return classify_provision(text, title=title)


def _quote(text: str, limit: int = 160) -> str:
    text = text.strip()
    return f"「{text if len(text) <= limit else text[:limit] + '…'}」"


def _question_roles(scenario: dict[str, list[str]]) -> set[str]:
    return {r for r in scenario.get("actors", []) if r != ROLE_CITIZEN}


def _terms(scenario: dict[str, list[str]], role: str) -> str:
    return "、".join(scenario.get(f"actor_terms:{role}", []))


def _resolve_subject(liability: Liability, read: _Read, reads: list[_Read]) -> tuple[str, str]:
    """(subject, note) — a subjectless `违反本条例第十六条…规定的` takes the subject of
    the referenced article when that article is in the evidence too."""
    if liability.subject:
        notes = {"context": "主体承前句", "activity": "主体据所规范的活动推定", "title": "主体据文件名称推定",
                 "outcome": "被审查行为的作出机关"}
        return liability.subject, notes.get(liability.inferred, "")
    for other in reads:
        if other.evidence.law == read.evidence.law and other.evidence.article in liability.refers_to:
            for subject in other.provision.subjects:
                if role_of(subject) in (ROLE_FIRM, ROLE_GOV):
                    return subject, f"主体见{other.evidence.ref}"
    return "", "条文未写明主体"


def _party_rows(reads: list[_Read], scenario: dict[str, list[str]]) -> list[tuple[Party, Liability, str]]:
    """(party row, liability, role used for slot sorting) for every relevant liability."""
    wanted = _question_roles(scenario)
    rows: dict[tuple[str, str, str, str], tuple[Party, Liability, str]] = {}
    for read in reads:
        for liability in read.provision.liabilities:
            subject, note = _resolve_subject(liability, read, reads)
            role = role_of(subject) if subject else ROLE_ANY
            if role in (ROLE_CITIZEN, ROLE_ENFORCER):
                continue  # the harmed side and the deciding body are not liable parties
            affiliation = role_of(liability.of_subject) if liability.of_subject else ""
            if wanted and role == ROLE_FIRM and ROLE_FIRM not in wanted and affiliation != ROLE_GOV:
                continue  # no enterprise in the question: enterprise-only rules are off topic
            if wanted and affiliation == ROLE_FIRM and ROLE_FIRM not in wanted:
                continue
            phrase = liability.subject_phrase or subject or _written_subject(liability) or UNNAMED_SUBJECT
            party_name = f"{liability.of_subject}的{phrase}" if liability.of_subject else phrase
            role_label = f"{role}（所属：{affiliation}）" if affiliation else role
            actor_words = _terms(scenario, affiliation or role) if role != ROLE_ANY else ""
            if role == ROLE_STAFF and not affiliation:
                actor_words = _terms(scenario, ROLE_STAFF)
            key = (party_name, role_label, liability.kind, read.evidence.ref)
            if key in rows:
                party = rows[key][0]
                if liability.consequence not in party.consequence.split("；"):
                    party.consequence += "；" + liability.consequence
                continue
            party = Party(
                party=party_name,
                role=role_label,
                liability=liability.kind,
                consequence=liability.consequence,
                basis=[read.evidence.ref],
                question_actor=actor_words,
                note=note,
            )
            rows[key] = (party, liability, role)
    return list(rows.values())


_WRITTEN_SUBJECT = re.compile(r"^(?P<who>[^，；。]{2,14}?(?:人|者|机构|单位|组织))(?:应当|应|依法)?(?:承担|负责)")

#: The subject an article addresses in its opening words (`医疗机构及其医务人员应当…`).
_OPENING_SUBJECT = re.compile(
    r"^(?P<who>[^，；。、“”（）]{2,12}?)(?:及其[^，；。、]{1,8}?)?"
    r"(?:应当|必须|不得|可以|依法|有下列|有本|违反|违法|未经|未按|不履行|拒绝|擅自)"
)

#: The party of a liability clause that names no subject at all (`违反本法规定…的，…`).
UNNAMED_SUBJECT = "违反本条规定的主体"


#: A claim or a decision that someone bear a liability (`定作人可以请求承揽人承担…`,
#: `被侵权人同时起诉两个以上医疗机构承担…`, `确定各医疗机构承担的…`): the one who bears it is
#: the party after the verb, not the one who claims or decides.
_CLAIMED_FROM = re.compile(r"^.*(?:起诉|请求|要求|确定|认定|判决|判令)各?")


def _written_subject(liability: Liability) -> str:
    """A subject outside the actor lexicon, as written before `承担` (`动物饲养人或者管理人`;
    `由医疗机构承担` → 医疗机构; `请求承揽人承担` → 承揽人)."""
    m = _WRITTEN_SUBJECT.match(liability.consequence)
    if not m:
        return ""
    who = _CLAIMED_FROM.sub("", m.group("who")).removeprefix("由")
    return who if len(who) >= 2 else ""


def _foreign_subject(row: tuple[Party, Liability, str], read: _Read | None) -> str:
    """The particular kind of actor a row without a lexicon subject is about, or "".

    A liability clause that writes no actor of the lexicon (`泄露患者的隐私…的，应当承担侵权责任`)
    is about whoever the article addresses — 民法典第一千二百二十六条 addresses 医疗机构. Such a
    subject (医疗机构, 律师, 商业银行 …) belongs to the question only if the question names it.
    Subjects read from the activity or the title (个人信息处理者, 刑法's 行为人) are generic.
    """
    party, liability, role = row
    if role != ROLE_ANY or liability.inferred in ("activity", "title"):
        return ""
    written = _written_subject(liability)
    if written and not actors_in(written):
        return written
    if liability.subject or read is None:
        return ""
    for sentence in article_sentences(read.evidence.text)[:1]:
        m = _OPENING_SUBJECT.match(sentence)
        if m and not actors_in(m.group("who")):
            return m.group("who")
    return ""


def _issue_roles(understanding: Understanding | None) -> tuple[set[str], list[str]]:
    """(lexicon roles, literal words) of the parties the recognised issues name.

    `受托企业` → 企业/受托方…, `工作人员` → 工作人员/责任人员; a word outside both tables
    (`医疗机构`) is kept literally so it can admit a row about that kind of actor.
    """
    roles: set[str] = set()
    words: list[str] = []
    for issue in (understanding.issues if understanding else []):
        for word in issue.roles:
            words.append(word)
            if word in ACTOR_ROLES:
                roles.add(role_of(word))
            else:
                roles.update(r for r in _matches(word, ACTOR_KEYWORDS) if r != ROLE_CITIZEN)
    return roles, words


def _absent_third_party(party: Party, question: str) -> bool:
    """A 第三人 row (行政赔偿规定第二十四条: a third party who supplied false papers answers
    first) for a story that names nobody besides the organ and the person: the statute's
    third party is not in it, so neither the row nor the 对外 line may name one."""
    return party.party == THIRD_PARTY and not any(word in question for word in PRIVATE_WRONGDOERS)


def _relevant_rows(
    rows: list[tuple[Party, Liability, str]],
    reads: list[_Read],
    question: str,
    scenario: dict[str, list[str]],
    understanding: Understanding | None = None,
) -> list[tuple[Party, Liability, str]]:
    """Rows whose party is an actor of the question or a role a recognised issue names.

    Why: an answer listing every liability clause of the evidence buries the parties the
    user asked about (issue 12 saw 20+ rows, one about 医疗机构 for a government app).
    Kept: rows of the question's roles (and of the roles its relation implies: 委托 /
    采购 / 行政协议 name a commissioning body and a contractor), the staff of those
    roles, rows of the issues' roles, and rows about anyone (刑法's 行为人). Dropped: rows
    about a particular kind of actor nobody named. A question that names no actor at all
    keeps every lexicon row, as before.
    """
    by_ref = {read.evidence.ref: read for read in reads}
    wanted = _question_roles(scenario)
    # a question in statute words (`电子政务关键信息基础设施的运营者`) names its role exactly
    wanted |= {role_of(m.group()) for m in actors_in(question)} - {ROLE_CITIZEN, ROLE_ENFORCER, ROLE_ANY}
    if set(scenario.get("relations", [])) & COMMISSION_RELATIONS:
        wanted |= {ROLE_GOV, ROLE_FIRM}
    issue_roles, issue_words = _issue_roles(understanding)
    wanted |= issue_roles
    named = [w for key, words in scenario.items() if key.startswith("actor_terms:") for w in words] + issue_words
    law_roles: dict[str, set[str]] = {}
    for read in reads:
        law_roles.setdefault(read.evidence.law, set()).update(role_of(s) for s in read.provision.subjects)

    def keep(row: tuple[Party, Liability, str]) -> bool:
        party, liability, role = row
        foreign = _foreign_subject(row, by_ref.get(party.basis[0]))
        if foreign and (foreign in question or any(w in foreign or foreign in w for w in named if len(w) > 1)
                        or lay_names(foreign, question)):
            return True
        lay_roles = set(_matches(foreign, ACTOR_KEYWORDS)) - {ROLE_CITIZEN} if foreign else set()
        if foreign and not lay_roles:
            return False  # a kind of actor (医疗机构, 商业银行) the question does not name
        if lay_roles:  # `县级以上人民政府`: a government body the lexicon does not list
            return not wanted or bool(lay_roles & wanted)
        if _absent_third_party(party, question):
            return False
        if role == ROLE_ANY and not liability.subject and not _written_subject(liability) and wanted:
            # `违反本条例规定…的，依法给予处罚`: whoever breaks this law — kept only when
            # the law's articles among the evidence address one of the question's roles
            law = by_ref[party.basis[0]].evidence.law if party.basis[0] in by_ref else ""
            return bool(law_roles.get(law, set()) & wanted) or any(w in question for w in PRIVATE_WRONGDOERS)
        if role == ROLE_ANY or not wanted or role in wanted:
            return True
        if role == ROLE_STAFF:
            affiliation = role_of(liability.of_subject) if liability.of_subject else ""
            return affiliation in wanted if affiliation else bool(wanted & {ROLE_GOV, ROLE_FIRM})
        return False

    return [row for row in rows if keep(row)]


def liability_kinds(party: Party) -> list[str]:
    """The liability kinds of a (grouped) party row, in order (`行政责任；刑事责任`)."""
    return [kind for kind in party.liability.split("；") if kind]


def _party_key(party: Party) -> tuple[str, str]:
    """The story's party a row is about: its words in the question (`Party.question_actor`)
    and its role; a row that names no actor of the question is keyed by its statute's name."""
    return (party.question_actor or party.party, party.role)


def _also_called(row: Party, name: str, basis: list[str]) -> None:
    """Record that the statutes also call `row`'s party `name` in `basis`."""
    known = next((d for d in row.also_called if d.name == name), None)
    if known is None:
        row.also_called.append(Designation(name, list(basis)))
    else:
        known.basis += [ref for ref in basis if ref not in known.basis]


def group_parties(parties: Iterable[Party]) -> list[Party]:
    """One row per party of the story (its words in the question and its role), with every
    liability kind, basis and distinct consequence it has; a breached duty without a stated
    consequence is listed last. The first row's statutory name heads the row; the other
    names the statutes give the same party are kept with their articles (`Party.also_called`).

    Why: the same party often answers under several articles (数据安全法第四十五条 and 个人
    信息保护法第六十六条 both fine the contractor) and in several ways (政府采购法第八十条:
    the staff are 处分ed and, for a crime, prosecuted); and the statutes name the one
    contractor of the story differently (关键信息基础设施的运营者, 数据处理者, 个人信息处理者),
    so keying rows by the statute's name listed the contractor four times — issue 12 asks
    for the table grouped by party, with no repeats. A row about nobody the question names
    (刑法's 行为人) keeps its own name.
    """
    merged: dict[tuple[str, str], Party] = {}
    for party in parties:
        key = _party_key(party)
        if key not in merged:
            merged[key] = Party(party.party, party.role, party.liability, party.consequence, list(party.basis),
                                party.question_actor, party.note)
            continue
        row = merged[key]
        kinds = list(dict.fromkeys(liability_kinds(row) + liability_kinds(party)))
        row.liability = "；".join(sorted(kinds, key=lambda k: k == DUTY_LIABILITY))
        row.basis += [ref for ref in party.basis if ref not in row.basis]
        known = row.consequence.split("；")
        row.consequence = "；".join(known + [c for c in party.consequence.split("；") if c and c not in known])
        if party.note and party.note not in row.note:
            row.note = "；".join(x for x in (row.note, party.note) if x)
        if party.party != row.party:
            _also_called(row, party.party, party.basis)
    order = list(dict.fromkeys(key[0] for key in merged))
    return sorted(merged.values(), key=lambda p: order.index(_party_key(p)[0]))


def _designation_rows(reads: list[_Read], scenario) -> list[tuple[Party, Liability, str]]:
    """赔偿义务机关 designations are state-compensation liability of the designated body."""
    rows = []
    for read in reads:
        sentences = list(dict.fromkeys(d.sentence for d in read.provision.designations if d.role == "赔偿义务机关"))
        for sentence in _pick_sentences(sentences, scenario.get("relations", [])):
            for d in read.provision.designations:
                if d.role != "赔偿义务机关" or d.sentence != sentence:
                    continue
                phrase = d.subject if d.subject_phrase.startswith("该") else d.subject_phrase
                party = Party(
                    party=phrase,
                    role=role_of(d.subject) if d.subject in ACTOR_ROLES else ROLE_GOV,
                    liability="国家赔偿",
                    consequence="为赔偿义务机关",
                    basis=[read.evidence.ref],
                    question_actor=_terms(scenario, ROLE_GOV),
                )
                liability = Liability(d.subject, phrase, "国家赔偿", "为赔偿义务机关", sentence)
                rows.append((party, liability, party.role))
    return rows


def _duty_row(read: _Read, subject: str, sentence: str, role: str, scenario) -> tuple[Party, Liability, str]:
    party = Party(
        party=subject,
        role=role,
        liability=DUTY_LIABILITY,
        consequence=sentence,
        basis=[read.evidence.ref],
        question_actor=_terms(scenario, role),
        note="本条只规定义务，未规定违反后果",
    )
    return party, Liability(subject, subject, DUTY_LIABILITY, sentence, sentence), role


def _issue_duty_rows(reads: list[_Read], scenario, understanding: Understanding | None) -> list[tuple[Party, Liability, str]]:
    """The duties a recognised issue names as governing (role `duty` in the issue map: 数据安全法
    第四十条 for a contractor keeping government data) are rows of the question's parties
    even when other articles already give those parties a liability: the duty is what the
    party breached, and the map says this article governs the issue. One row per subject
    the article binds whose role the question or the issue names."""
    duty_refs = {p.ref for issue in (understanding.issues if understanding else []) for p in issue.provisions
                 if p.role == "duty"}
    wanted = _question_roles(scenario) | _issue_roles(understanding)[0]
    out = []
    for read in reads:
        if read.evidence.ref not in duty_refs or read.evidence.origin not in ("lookup", "search"):
            continue  # a duty only linked to a retrieved liability (duty-pair) was never gold: 0 of 24 rows
        for subject in read.provision.subjects:
            role = role_of(subject)
            if role not in (ROLE_GOV, ROLE_FIRM) or role not in wanted:
                continue
            sentence = next((s for s in read.provision.duty_sentences if subject in s), "")
            if sentence:
                out.append(_duty_row(read, subject, sentence, role, scenario))
    return out


def _compensation_right_rows(reads: list[_Read], scenario) -> list[tuple[Party, Liability, str]]:
    """`行政机关及其工作人员在行使行政职权时有下列…情形之一的，受害人有取得赔偿的权利`
    (国家赔偿法第三条、第四条): the body whose act gives the victim the right answers in
    state compensation, though the sentence names no 赔偿义务机关 and no `承担…责任`."""
    out = []
    for read in reads:
        for remedy in read.provision.remedies:
            if remedy.kind != "国家赔偿" or role_of(remedy.holder) != ROLE_CITIZEN or remedy.outcome:
                continue
            actor = next((m.group() for m in actors_in(remedy.sentence) if role_of(m.group()) == ROLE_GOV), "")
            if not actor:
                continue
            consequence = f"受害人有取得赔偿的权利（{_short(remedy.sentence, 40)}）"
            party = Party(party=actor, role=ROLE_GOV, liability="国家赔偿", consequence=consequence,
                          basis=[read.evidence.ref], question_actor=_terms(scenario, ROLE_GOV))
            out.append((party, Liability(actor, actor, "国家赔偿", consequence, remedy.sentence), ROLE_GOV))
            break
    return out


def _row_reads(reads: list[_Read]) -> list[_Read]:
    """The reads that may give party rows: everything but the liability articles paired with
    a duty of a less relevant law. A pair (the article sanctioning a retrieved duty,
    `Pipeline.paired_liabilities`) gives rows only when it belongs to the law of one of the
    first `PAIR_LAW_DEPTH` lookups / search hits. Why: measured on the shared dev sets, the
    party rows of pairs rested on a gold article 8 % of the time (13 of 169), against 34 %
    for the top search hits; the correct ones were the sanctions of the leading law
    (公共安全视频图像信息系统管理条例第三十一、三十二条 for its own duties). The depth 2 was
    chosen on the even-numbered dev questions. The same holds for the search hits after the
    first `ROW_SEARCH_DEPTH`: their rows rested on a gold article 7 % of the time (6 of 88
    rows of hits 7–10 that were issue-map liability provisions); within the leading laws
    they stay. Chosen on the even questions (8 kept every covered party there; 6 lost one);
    on the held-out odd ones party-row precision rose (domain_lay_dev 0.183 → 0.186,
    domain_dev 0.391 → 0.414) and one covered party was lost (dl-023: 国家赔偿法第三条 was
    hit 9 and 国家赔偿法 not a leading law). Pairs and deeper hits
    stay evidence (their remedies, designations and citations are kept)."""
    leading = [r.evidence for r in reads if r.evidence.origin in ("lookup", "search")]
    leading.sort(key=lambda e: e.rank)
    laws = {e.law for e in leading[:PAIR_LAW_DEPTH]}
    deep = {e.ref for e in [e for e in leading if e.origin == "search"][ROW_SEARCH_DEPTH:]}
    return [r for r in reads
            if r.evidence.law in laws or (r.evidence.origin != "liability-pair" and r.evidence.ref not in deep)]


def _duty_rows(reads: list[_Read], scenario, rows) -> list[tuple[Party, Liability, str]]:
    """A question actor with no liability clause in the evidence still has the duties the
    evidence imposes on it: one row per (role, article), labelled as a breached duty."""
    covered = {row[2] for row in rows}
    out = []
    for role in (ROLE_GOV, ROLE_FIRM):
        if role not in scenario.get("actors", []) or role in covered:
            continue
        for read in reads:
            for sentence in read.provision.duty_sentences:
                subject = next((s for s in read.provision.subjects if s in sentence and role_of(s) == role), "")
                if not subject:
                    continue
                out.append(_duty_row(read, subject, sentence, role, scenario))
                break
    return out


def _pick_sentences(sentences: list[str], relations: list[str]) -> list[str]:
    """The general rule (first sentence) plus those about the question's relation (委托/授权)."""
    picked = sentences[:1]
    for sentence in sentences[1:]:
        if any(r in sentence for r in relations if r in ("委托", "授权")) and sentence not in picked:
            picked.append(sentence)
    return picked


_INTERNAL_CONTEXT = re.compile(r"委托|受托|合同|约定|向采购人")
#: A duty belongs to the internal relation when it speaks of the commission or the contract
#: itself; `向采购人` there is the object of a prohibition (供应商不得以向采购人…行贿), not a
#: relation between the sides (it still marks a contractor's liability row: 向采购人负责).
_COMMISSION_DUTY = re.compile(r"委托|受托|合同|约定")
DEFENDANT_LABEL = "行政诉讼被告"  # external slots from `X是被告` / `以X为被告`


#: An issue role that is a commissioned party (受托企业, 受委托组织, 承建单位 …).
COMMISSIONED_ROLE = re.compile(r"受托|受委托|承建")


def _commissioned(scenario: dict[str, list[str]], understanding: Understanding | None) -> bool:
    """Whether the question is about a body and a contractor: it names a commissioning
    relation (委托, 政府采购, 行政协议, 分包), both sides are among its actors, or a recognised
    issue names a commissioned party (`单位让我们接涉密项目`: 受托企业 of the secret-outsourcing
    issue). Why: a duty that mentions 委托 / 合同 is an internal allocation only between
    such sides (住房公积金管理条例第三十六条's 受委托银行不得拒绝 is none for a retiree the
    fund centre refused; 网络安全法第四十一条's 双方的约定 none for an app's user)."""
    if set(scenario.get("relations", [])) & COMMISSION_RELATIONS:
        return True
    if {ROLE_GOV, ROLE_FIRM} <= set(scenario.get("actors", [])):
        return True
    return any(COMMISSIONED_ROLE.search(role) for issue in (understanding.issues if understanding else [])
               for role in issue.roles)


def _court_not_in_story(sentence: str, question: str) -> bool:
    """A right to compensation for a court's or procuratorate's own unlawful act (`JUDICIAL_WRONGDOER`)
    in a story that names neither: it does not say who answers to this person (an agency
    seized the goods; 行政强制法第八条's second sentence is about 人民法院 in 强制执行)."""
    return bool(JUDICIAL_WRONGDOER.search(sentence)) and not re.search(r"法院|检察院", question)


def _slots(reads: list[_Read], rows: list[tuple[Party, Liability, str]], scenario,
           understanding: Understanding | None = None, question: str = "") -> dict[str, list[Slot]]:
    relations = scenario.get("relations", [])
    commissioned = _commissioned(scenario, understanding)
    slots: dict[str, list[Slot]] = {"external": [], "internal": [], "individual": [], "fault_principle": []}

    def add(name: str, statement: str, ref: str) -> None:
        for slot in slots[name]:
            if slot.statement == statement:
                if ref not in slot.basis:
                    slot.basis.append(ref)
                return
        slots[name].append(Slot(statement=statement, basis=[ref], no_basis=False))

    for read in reads:
        ref, provision = read.evidence.ref, read.provision
        by_role: dict[str, list[str]] = {}
        for d in provision.designations:
            by_role.setdefault(d.role, [])
            if d.sentence not in by_role[d.role]:
                by_role[d.role].append(d.sentence)
        for role, sentences in by_role.items():
            label = "国家赔偿（赔偿义务机关）" if role == "赔偿义务机关" else DEFENDANT_LABEL
            for sentence in _pick_sentences(sentences, relations):
                add("external", f"{label}：{_quote(sentence)}", ref)
        for remedy in provision.remedies:
            if (remedy.kind == "国家赔偿" and role_of(remedy.holder) == ROLE_CITIZEN and not remedy.outcome
                    and not _court_not_in_story(remedy.sentence, question)):
                add("external", f"受害人取得国家赔偿的权利：{_quote(remedy.sentence)}", ref)
            if remedy.kind == "民事诉讼" and role_of(remedy.holder) == ROLE_GOV:
                add("internal", f"委托方向受托方索赔：{_quote(remedy.sentence)}", ref)
        for sentence in provision.duty_sentences if commissioned else ():
            subjects = sorted((sentence.find(s), s) for s in provision.subjects if s in sentence)
            if not _COMMISSION_DUTY.search(sentence) or not subjects:
                continue
            first = subjects[0][1]
            if role_of(first) in (ROLE_FIRM, ROLE_GOV):
                add("internal", f"{first}的义务：{_quote(sentence)}", ref)
        if re.search(r"政府采购合同适用|以合同方式约定", read.evidence.text):
            sentence = next(s for s in re.split(r"(?<=。)", read.evidence.text) if re.search(r"合同", s))
            add("internal", f"合同关系：{_quote(sentence)}", ref)
        for marker in provision.fault:
            add("fault_principle", f"{marker.principle}：{_quote(marker.sentence)}", ref)

    for party, liability, role in rows:
        ref = party.basis[0]
        line = f"{party.party}——{party.liability}：{_quote(party.consequence, 120)}"
        if liability.recourse:
            add("internal", f"追偿：{line}", ref)
        elif role == ROLE_GOV and party.liability in ("国家赔偿", "行政补偿", "法律责任", "合同责任", "行政责任"):
            if party.liability != "行政责任" or liability.inferred == "outcome" or "被告" in party.party or "被申请人" in party.party:
                add("external", line, ref)
        elif party.liability == "合同责任" or (
            party.liability == "法律责任" and role == ROLE_FIRM and _INTERNAL_CONTEXT.search(liability.sentence)
        ):
            add("internal", f"合同/委托关系：{line}", ref)
        elif party.liability == "民事责任":
            add("external", f"民事责任：{line}", ref)
        personal = role == ROLE_STAFF and party.liability in ("政务处分", "刑事责任", "行政责任", "国家赔偿")
        if personal or (role == ROLE_ANY and liability.subject and party.liability == "刑事责任"):
            add("individual", line, ref)
    return slots


def _scholarship_slots(evidence: list[Evidence]) -> dict[str, list[Slot]]:
    """学理观点 slots from scholarship evidence: the sentences that state the framework."""
    out: dict[str, list[Slot]] = {"external": [], "fault_principle": []}
    for item in evidence:
        if item.doc_type != "学术文献":
            continue
        for name, keywords in SCHOLARSHIP_KEYWORDS.items():
            picked = [s for s in re.split(r"(?<=。)", item.text) if any(k in s for k in keywords)]
            if picked:
                where = f"（{item.citation}）" if item.citation else f"（{item.law}）"
                out[name].append(
                    Slot(
                        statement=f"{SCHOLARSHIP_LABEL}{where}：{_quote(''.join(picked[:3]), 400)}",
                        basis=[item.ref],
                        no_basis=False,
                        label=SCHOLARSHIP_LABEL,
                    )
                )
    return out


def scholarship_paper(documents: Iterable[Document]) -> Document | None:
    """The scholarship paper whose framework 学理观点 slots quote: the current 学术文献
    document that carries a bibliographic citation (a collection can hold other documents
    typed 学术文献, such as LawRefBook's practice guides, which state no such framework)."""
    return next((d for d in documents if d.doc_type == "学术文献" and d.status == "current" and d.extra.get("citation")),
                None)


def scholarship_evidence(paper, *, rank: int = 0) -> list[Evidence]:
    """The paper's paragraphs that state its framework, as evidence (origin=scholarship)."""
    keywords = tuple(k for words in SCHOLARSHIP_KEYWORDS.values() for k in words)
    return [
        evidence_from_unit(paper, unit, rank=rank, origin="scholarship")
        for unit in paper.units
        if unit.kind == "paragraph" and any(k in unit.text for k in keywords)
    ]


def _remedies(reads: list[_Read]) -> list[Remedy]:
    """Remedy clauses, plus whom to claim against / sue where a designation says so."""
    merged: dict[tuple[str, str], Remedy] = {}
    for read in reads:
        for d in read.provision.designations:
            kind = "国家赔偿" if d.role == "赔偿义务机关" else "行政诉讼"
            key = (kind, read.evidence.ref)
            if key not in merged:
                detail = "向赔偿义务机关请求国家赔偿" if kind == "国家赔偿" else "以条文所定的被告提起行政诉讼"
                merged[key] = Remedy(remedy=kind, basis=[read.evidence.ref], detail=detail)
        for clause in read.provision.remedies:
            key = (clause.kind, read.evidence.ref)
            detail = clause.outcome or clause.sentence
            if key not in merged:
                merged[key] = Remedy(remedy=clause.kind, time_limit=clause.time_limit, basis=[read.evidence.ref],
                                     detail=detail)
                continue
            remedy = merged[key]
            if clause.time_limit and clause.time_limit not in remedy.time_limit:
                remedy.time_limit = "；".join(x for x in (remedy.time_limit, clause.time_limit) if x)
            if clause.outcome and clause.outcome not in remedy.detail:
                remedy.detail += "；" + clause.outcome
    return list(merged.values())


# --- remedies from the issue map -----------------------------------------------------------

#: A 查阅 / 更正 / 删除 request is a person's right over their own personal information
#: (个人信息保护法第四十四条至第四十八条) only where the article or its why speaks of it;
#: 企业信息公示暂行条例第十二条's 要求更正 of a firm's public record, a 征信 or 信用 entry's
#: correction, a 失信名单 entry's 删除 are a record's correction (`RECORD_CORRECTION`).
PERSONAL_INFORMATION = re.compile(r"个人信息|个人数据|个人有权")
PI_REQUEST, RECORD_CORRECTION = "个人信息权利请求", "信息更正请求"
_CORRECTION = re.compile(r"更正|补充|删除")

#: Remedy names read from an issue-map provision's `why` (then its text), first match wins.
#: The classifier's own kinds (行政复议, 行政诉讼, 国家赔偿 …) keep their names so a map
#: provision adds its time limit to the remedy already read from the same article.
REMEDY_NAMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("采购质疑", re.compile(r"质疑")),
    ("政府采购投诉", re.compile(r"采购[^，；。]{0,12}投诉|投诉[^，；。]{0,12}采购")),
    ("行政复议", re.compile(r"复议")),
    ("国家赔偿", re.compile(r"国家赔偿|行政赔偿|赔偿请求|请求赔偿|申请赔偿|赔偿金")),
    # not `民事诉讼时效`: 行政协议 规定第二十五条's suit is administrative, only its limitation period civil
    ("民事诉讼", re.compile(r"民事诉讼(?!时效)|民事权利")),
    ("行政诉讼", re.compile(r"行政诉讼|起诉|诉讼")),
    ("政府信息公开申请", re.compile(r"信息公开|申请公开")),
    (PI_REQUEST, re.compile(r"查阅|复制|更正|补充|删除|解释说明")),  # see remedy_name
    ("投诉举报", re.compile(r"投诉|举报")),
)
_NUMERAL_RUN = re.compile(f"[{NUMERAL_CHARS}]+")  # the one numeral alphabet (corpus.numerals)


def _digits(text: str) -> str:
    """Numerals as digits and without `个`, so `七个工作日` and `7个工作日` compare equal."""
    def value(m: re.Match[str]) -> str:
        try:
            return str(chinese_to_int(m.group()))
        except ValueError:
            return m.group()

    return _NUMERAL_RUN.sub(value, text).replace("个", "")


def states_time_limit(text: str, limit: str) -> bool:
    """True when an article's own text states `limit` (digits or Chinese numerals alike).

    Why: a time limit is only given where the cited article says it; the issue map's
    value is a claim about the text, checked here against the text itself.
    """
    limit = limit.strip()
    return bool(limit) and (limit in text or _digits(limit) in _digits(text))


#: A remedy-map time limit that binds the authority (答复 / 决定 / 支付期限), not the person.
AUTHORITY_DEADLINE = "办理期限"
#: A map time limit that is a duration (`provisions.is_deadline`: 查封、扣押的期限不得超过三十日,
#: 保存不少于30日): listed in the analysis as what the law allows, never as anyone's deadline.
STATUTORY_PERIOD = "法定期间"
#: The remedy kind of a claim no remedy pattern names (`REMEDY_VERBS`: 依该条主张权利).
GENERIC_REMEDY = "救济途径"
#: Remedy rows that are not something the person does by a date: kept out of the 结论.
NOT_THE_PERSONS = (AUTHORITY_DEADLINE, STATUTORY_PERIOD)


def remedy_name(*sources: str) -> str:
    """The remedy named first in the given texts, tried in order ("" if none); a
    `PI_REQUEST` only when some source speaks of personal information (see above)."""
    for source in sources:
        for name, pattern in REMEDY_NAMES:
            if pattern.search(source):
                if name == PI_REQUEST and not any(PERSONAL_INFORMATION.search(s) for s in sources):
                    return RECORD_CORRECTION if _CORRECTION.search(source) else ""
                return name
    return ""


def _limit_clause(text: str, limit: str) -> tuple[str, list[str], int] | None:
    """(sentence, its comma segments, index of the segment stating `limit`), or None.

    A limit stated in an enumeration item (`（一）能够在五个工作日内办理完毕的，应当办理完毕`)
    has its actor in the lead-in that ends with `：` (`承办单位应当按照下列规定办理…：`):
    the lead-in's segments come first, so whose limit it is can be read there."""
    def comma_segments(sentence: str) -> list[str]:
        return [seg for seg in re.split(r"[，；]", sentence) if seg]

    lead: list[str] = []
    for sentence in article_sentences(text):
        if not states_time_limit(sentence, limit):
            if sentence.endswith(("：", ":")):
                lead = comma_segments(sentence)
            elif not ITEM_START.match(sentence):
                lead = []
            continue
        if not ITEM_START.match(sentence):
            lead = []
        segments = comma_segments(sentence)
        for index, segment in enumerate(segments):
            if states_time_limit(segment, limit):
                return sentence, lead + segments, len(lead) + index
        return sentence, lead + segments, len(lead)
    return None


def _limit_holder_is_authority(segments: list[str], index: int) -> bool:
    """Whose time limit is it? The first actor of the stating segment, or of the nearest
    segment before it that names one: a body (行政机关, 赔偿义务机关, 采购人) answering or
    deciding within the limit, or the person (公民, 赔偿请求人, 供应商) acting within it.
    A 时效 is always the person's."""
    if "时效" in segments[index]:
        return False
    if AUTHORITY_CLOCK.search(segments[index]):
        return True  # counted from the authority's receipt (`自受理之日起30日内书面答复投诉人`)
    for position in range(index, -1, -1):
        segment = segments[position]
        if position == index and _ELIDED_SUBJECT.match(segment):
            continue  # `应当自…六个月内提出`: the subject is in an earlier segment
        role = _first_actor_role(segment)
        if role:
            return role in (ROLE_GOV, ROLE_ENFORCER)
    return False


_ELIDED_SUBJECT = re.compile(r"^(?:应当|可以|并|有权|也|均)")


def _first_actor_role(segment: str) -> str:
    """Role of the first actor a segment names — statute terms and the question keywords
    (`政府采购监督管理部门`); a body after `向` / `对` receives or is the object of the act."""
    def addressed(start: int) -> bool:
        return segment[:start].endswith(("向", "对"))

    statute = list(actors_in(segment))
    found = [(m.start(), role_of(m.group())) for m in statute if not addressed(m.start())]
    found += [
        (m.start(), role)
        for role, words in ACTOR_KEYWORDS.items()
        for word in words
        if len(word) > 1
        for m in re.finditer(re.escape(word), segment)
        if not addressed(m.start()) and not any(a.start() < m.end() and m.start() < a.end() for a in statute)
    ]
    return min(found)[1] if found else ""


def _limit_context(clause: tuple[str, list[str], int], limit: str) -> tuple[str, str, str] | None:
    """(sentence, words before, words after) `limit` in the segment of `clause` that states
    it (compared in digits, so 三十日 is found in `30日`; a limit that already says 内 is a
    window), or None when it is stated across segments."""
    sentence, segments, index = clause
    stating, wanted = _digits(segments[index]), _digits(limit)
    start = stating.find(wanted)
    if start < 0:
        return None
    return sentence, stating[:start], "内" if limit.endswith("内") else stating[start + len(wanted):]


def _map_remedy(provision, item: Evidence) -> Remedy:
    """The remedy (or the authority's deadline) one remedy / time_limit provision gives; a
    time_limit provision whose period is a duration, not a deadline (`provisions.is_deadline`:
    查封、扣押的期限不得超过三十日, 保存不少于30日), gives its `STATUTORY_PERIOD`."""
    limit = provision.time_limit if states_time_limit(item.text, provision.time_limit) else ""
    clause = _limit_clause(item.text, limit) if limit else None
    context = _limit_context(clause, limit) if clause is not None else None  # None: not ours to doubt
    if context is not None and not is_deadline(*context):
        if provision.role == "time_limit":
            return Remedy(remedy=STATUTORY_PERIOD, time_limit=limit, basis=[provision.ref], detail=provision.why)
        limit, clause, context = "", None, None  # a remedy article whose period is a duration: the remedy, untimed
    outer = context is not None and is_outer_limit(context[1])
    if clause is None:
        name = remedy_name(provision.why, item.text) or GENERIC_REMEDY
        if name == "行政诉讼":  # `请求…起诉` in 民法典 is a civil suit
            name = litigation_kind(item.text, item.law)
        return Remedy(remedy=name, time_limit=limit, basis=[provision.ref], detail=provision.why)
    sentence, segments, index = clause
    stating = segments[index]
    after = stating[stating.index(limit) + len(limit):] if limit in stating else stating
    name = remedy_name(after + "".join(segments[index + 1 : index + 2]), sentence, provision.why)
    if name == "行政诉讼":  # `提起诉讼` in 民法典 is a civil suit
        name = litigation_kind(sentence, item.law)
    if _limit_holder_is_authority(segments, index):
        label = f"{AUTHORITY_DEADLINE}（{name}）" if name else AUTHORITY_DEADLINE
        return Remedy(remedy=label, time_limit=limit, basis=[provision.ref], detail=provision.why)
    return Remedy(remedy=name or GENERIC_REMEDY, time_limit=limit, basis=[provision.ref], detail=provision.why,
                  outer=outer)


def _issue_remedies(remedies: list[Remedy], evidence: list[Evidence], understanding: Understanding | None) -> list[Remedy]:
    """Remedies (and time limits) of the recognised issues' remedy / time_limit provisions
    that are among the evidence. The time limit is kept only when the article's text
    states it (`states_time_limit`); otherwise the remedy is listed without one. A limit
    that binds the authority (答复 within 七个工作日) is listed as its 办理期限."""
    if understanding is None:
        return remedies
    by_ref = {e.ref: e for e in evidence if is_liability_source(e.doc_type) and e.status != "duplicate"}
    for issue in understanding.issues:
        for provision in issue.provisions:
            item = by_ref.get(provision.ref)
            if provision.role not in ("remedy", "time_limit") or item is None:
                continue
            found = _map_remedy(provision, item)
            same_ref = [r for r in remedies if provision.ref in r.basis]
            same = next((r for r in same_ref if r.remedy == found.remedy), None)
            if same is not None:
                if not same.time_limit:
                    same.time_limit, same.outer = found.time_limit, found.outer
            elif not (found.time_limit and any(states_time_limit(r.time_limit, found.time_limit) for r in same_ref)):
                remedies.append(found)  # unless the reader already gives that limit from this article
    return remedies


# --- 结论: the answer first -----------------------------------------------------------------

CONCLUSION_LAYERS = {"duty": "各方义务", "external": "对外责任", "internal": "内部责任", "individual": "个人责任",
                     "proof": "举证责任", "remedy": "救济途径"}
_NO_SUPPORT = {
    "external": "检索到的条文未写明谁先向受害人负责",
    "internal": "检索到的条文未写明各方之间如何分担或追偿",
    "individual": "检索到的条文未写明个人（工作人员）的责任",
    "proof": "检索到的条文未写明由谁证明或归责原则",
    "duty": "检索到的条文未写明各方应当做什么",
    "remedy": "检索到的条文未写明救济途径",
}
#: At most this many 结论 lines (issue 12: 3–6).
MAX_CONCLUSION_LINES = 6
#: 归责原则 statements that answer "要我自己证明吗?", most direct first: a presumption of
#: fault or an explicit burden puts the proof on the other side or says who bears it; strict
#: liability needs no proof of fault; plain fault liability means the claimant proves it.
#: (故意或者重大过失 is the standard of recourse against staff, not the harmed person's burden.)
PROOF_PRINCIPLES = ("过错推定", "举证责任", "无过错责任", "过错责任")
DIRECT_PROOF = PROOF_PRINCIPLES[:2]  # say who proves; when present, the other two are left out
#: Internal-slot statements by how directly they say who bears what (see `_slots`).
_INTERNAL_ORDER = ("追偿：", "合同/委托关系：", "委托方向受托方索赔：", "合同关系：")
#: Remedies a question's intents ask about first.
_INTENT_REMEDIES = {
    "compensation": ("国家赔偿", "民事诉讼"),
    "amount": ("国家赔偿", "民事诉讼"),
    "defendant": ("行政诉讼",),
    "remedy_route": ("行政复议", "行政诉讼", "采购质疑"),
}


#: How the 结论 says what the person can do (`申请行政复议`); other kinds are used as written.
REMEDY_VERBS = {
    "行政复议": "申请行政复议", "行政诉讼": "提起行政诉讼", "民事诉讼": "提起民事诉讼", "国家赔偿": "请求国家赔偿",
    "行政补偿": "请求行政补偿", "采购质疑": "向采购人提出质疑", "政府采购投诉": "向财政部门投诉",
    PI_REQUEST: "请求查阅、复制、更正、删除个人信息或要求解释说明",
    RECORD_CORRECTION: "要求更正或删除有误、不应保留的信息", "政府信息公开申请": "申请政府信息公开",
    "投诉举报": "投诉、举报", GENERIC_REMEDY: "依该条主张权利",
}


def _short(text: str, limit: int = 48) -> str:
    text = re.sub(r"[「」]", "", text).strip()
    return text if len(text) <= limit else text[:limit] + "…"


def _no_support(kind: str) -> ConclusionLine:
    return ConclusionLine(kind="no_basis", text=f"{CONCLUSION_LAYERS[kind]}：无依据（{_NO_SUPPORT[kind]}）")


def _party_phrase(party: Party) -> str:
    return f"{party.party}——{party.liability}（{_short(party.consequence, 36)}）"


#: A body's unspecified liability that others pursue (`依法追究法律责任`, `依法依规追究责任`,
#: `予以处理`) is its accountability to superiors, not an answer to the harmed person: the
#: 对外 line never states it as `对受害人先担责`; only a question asking whether the body is
#: liable at all gets it, as `HELD_TO_ACCOUNT` (the analysis's 外部责任 slot still quotes it).
#: `承担法律责任` (行政处罚法第二十条: the entrusting organ bears the consequences of its
#: delegate's acts) is an answer and stays.
PURSUED = re.compile(r"——法律责任：.*?(?:追究|予以处理|给予处罚)")
#: How the 对外 line states such a clause for a question that asks whether a body answers at all.
HELD_TO_ACCOUNT = "依法被追究（条文未写明向受害人负责）"
#: A party the article defines by a delegation (委托行政机关, 受委托的组织) is no party of a
#: story in which nobody acted for anybody (`_commissioned`): the 对外 line does not name it.
DELEGATION_PARTY = re.compile(r"^(?:受)?委托")


def _external_line(analysis: Analysis, intents: Iterable[str] = (), parties: list[Party] | None = None,
                   commissioned: bool = True) -> ConclusionLine:
    """Who answers to the harmed person first: the designated 赔偿义务机关 (the 委托 one
    when the question has that relation), then the party owing civil damages; for a
    question asking whom to sue, also the defendant the evidence designates. An organ only
    held to account (`PURSUED`) is never stated as answering to the person, and a party
    defined by a delegation is not named unless the story is `commissioned`."""
    relations = analysis.scenario.get("relations", [])
    entrusted = lambda text: "委托" in relations and "委托" in text  # noqa: E731 — sort key
    parties = analysis.parties if parties is None else parties
    designated = [p for p in parties if "国家赔偿" in liability_kinds(p) and "赔偿义务机关" in p.consequence]
    designated.sort(key=lambda p: not entrusted(p.party))
    civil = [p for p in parties if "民事责任" in liability_kinds(p) and not p.role.startswith(ROLE_STAFF)
             and p.party != UNNAMED_SUBJECT]
    outward = [p for p in parties if p.role.startswith(ROLE_GOV)
               and {"国家赔偿", "行政补偿", "合同责任"} & set(liability_kinds(p))]
    parts = [(_party_phrase(p), p.basis[0]) for p in (designated[:1] + civil[:1]) or outward[:1]]
    defendants = [s for s in analysis.external if s.statement.startswith(DEFENDANT_LABEL) and s.basis]
    defendants.sort(key=lambda s: not entrusted(s.statement))
    pursued = []
    if not parts:
        legal = [s for s in analysis.external if not s.no_basis and not s.label and s.basis
                 and UNNAMED_SUBJECT not in s.statement and s not in defendants
                 and (commissioned or not DELEGATION_PARTY.match(s.statement))]
        pursued = [s for s in legal if PURSUED.search(s.statement)]
        parts = [(_short(s.statement.removeprefix("民事责任："), 60), s.basis[0]) for s in legal if s not in pursued][:1]
    if defendants and ("defendant" in intents or not parts):
        statement = defendants[0].statement.removeprefix(DEFENDANT_LABEL + "：")
        parts.append((f"被告：{_short(statement, 60)}", defendants[0].basis[0]))
    if not parts and pursued and "liability" in intents:
        # asked whether a body answers at all (管网站的就没责任？): it is held to account, said as such
        return ConclusionLine("external", f"{HELD_TO_ACCOUNT}：{_short(pursued[0].statement, 60)}", basis=pursued[0].basis[:1])
    if not parts:
        return _no_support("external")
    return ConclusionLine("external", "对受害人先担责：" + "；".join(text for text, _ in parts),
                          basis=list(dict.fromkeys(ref for _, ref in parts)))


def _internal_line(analysis: Analysis) -> ConclusionLine:
    """Who bears what among the parties: recourse first, then contract / commission terms."""
    legal = [s for s in analysis.internal if not s.no_basis and not s.label and s.basis]
    legal.sort(key=lambda s: next((i for i, p in enumerate(_INTERNAL_ORDER) if s.statement.startswith(p)), len(_INTERNAL_ORDER)))
    if not legal:
        return _no_support("internal")
    picked = legal[:2]
    return ConclusionLine("internal", "内部分担：" + "；".join(_short(s.statement, 56) for s in picked),
                          basis=list(dict.fromkeys(s.basis[0] for s in picked)))


def _individual_line(analysis: Analysis, parties: list[Party] | None = None) -> ConclusionLine:
    """Who answers personally: staff rows (处分, 政务处分, fines, crimes), crimes of anyone."""
    staff = [p for p in (analysis.parties if parties is None else parties) if p.role.startswith(ROLE_STAFF)
             or (p.role == ROLE_ANY and "刑事责任" in liability_kinds(p) and p.party != UNNAMED_SUBJECT)]
    # the staff of a deciding body (履行个人信息保护职责的部门的工作人员) answer for how they
    # decide, not for the act the question is about: listed after everyone else
    staff.sort(key=lambda p: (any(role_of(a.group()) == ROLE_ENFORCER for a in actors_in(p.party)),
                              not {"政务处分", "刑事责任"} & set(liability_kinds(p))))
    if not staff:
        return _no_support("individual")
    # the same party under two articles (数据安全法第四十九条, 个人信息保护法第六十八条) is one
    # statement citing both, so the two places go to two different parties
    phrases: dict[str, list[str]] = {}
    for p in staff:
        phrase = _party_phrase(p)
        if phrase in phrases or len(phrases) < 2:
            phrases.setdefault(phrase, []).append(p.basis[0])
    return ConclusionLine("individual", "个人担责：" + "；".join(phrases),
                          basis=list(dict.fromkeys(ref for refs in phrases.values() for ref in refs)))


def _duty_line(analysis: Analysis, parties: list[Party] | None = None) -> ConclusionLine:
    """What each party must do, first, for a question that asks (`duty`: 要做什么 / 有什么义务 —
    an official or a contractor checking their own obligations): the duty rows of the
    question's parties (the body, the contractor first) and the 内部 slots that state a
    party's duty (`国家机关的义务：…`), one article each, at most two."""
    rows = [p for p in (analysis.parties if parties is None else parties)
            if DUTY_LIABILITY in liability_kinds(p) and p.party != UNNAMED_SUBJECT]
    rows.sort(key=lambda p: not p.role.startswith((ROLE_GOV, ROLE_FIRM)))
    found = [(f"{p.party}：{_short(p.consequence, 60)}", p.basis[0]) for p in rows]
    found += [(_short(s.statement.replace("的义务：", "：", 1), 64), s.basis[0]) for s in analysis.internal
              if "的义务：" in s.statement and s.basis and not s.no_basis and not s.label]
    picked: dict[str, str] = {}
    parties_named: set[str] = set()
    for distinct in (True, False):  # one line per party first (the body's and the contractor's), then fill
        for text, ref in found:
            party = text.split("：", 1)[0]
            if ref not in picked and len(picked) < 2 and not (distinct and party in parties_named):
                picked[ref] = text
                parties_named.add(party)
    if not picked:
        return _no_support("duty")
    return ConclusionLine("duty", "应当做什么：" + "；".join(picked.values()), basis=list(picked))


def _proof_line(analysis: Analysis) -> ConclusionLine:
    """Who has to prove what, for a question that asks (`burden_of_proof`: 要我自己证明吗?):
    the 归责原则 statements of the evidence in `PROOF_PRINCIPLES` order, grouped by article
    (行政诉讼法第三十八条 says both who proves the damage and when the burden shifts), at most
    two articles. Plain fault liability is left out when an article presumes fault or assigns
    the burden: that is the answer, the plain rule is the background."""
    def principle(slot) -> str:
        return slot.statement.split("：", 1)[0]

    found = [s for s in analysis.fault_principle if s.basis and not s.no_basis and not s.label
             and principle(s) in PROOF_PRINCIPLES]
    found.sort(key=lambda s: PROOF_PRINCIPLES.index(principle(s)))
    found = [s for s in found if principle(s) in DIRECT_PROOF] or found
    if not found:
        return _no_support("proof")
    by_article: dict[str, list] = {}
    for slot in found:
        by_article.setdefault(slot.basis[0], []).append(slot)
    parts = []
    for slots in list(by_article.values())[:2]:
        said = "；".join(dict.fromkeys(s.statement.split("：", 1)[1].strip("「」").rstrip("。") for s in slots))
        parts.append(f"{principle(slots[0])}：{_short(said, 90)}")
    return ConclusionLine("proof", "谁来证明：" + "；".join(parts), basis=list(by_article)[:2])


#: Claimants of a public-interest suit (个人信息保护法第七十条): their route is not the harmed person's.
PUBLIC_CLAIMANTS = re.compile(r"人民检察院|消费者组织|网信部门确定的组织")
#: A remedy for a dispute with a named counterparty (社会保险法第八十三条: 个人与所在用人单位发生
#: 社会保险争议的，可以…提起诉讼) — the group is the counterparty's words.
COUNTERPARTY_DISPUTE = re.compile(r"与(?:其|所在)?([^，；。与]{1,12}?)(?:之间)?发生[^，；。]{0,12}(?:争议|纠纷)")


def _absent_counterparty(remedy: Remedy, roles: set[str]) -> bool:
    """The remedy is for a dispute with a counterparty of a kind (`ROLE_FIRM`, `ROLE_GOV`)
    that the question, which names other actors (`roles`), does not name (`COUNTERPARTY_DISPUTE`).

    Why: 社会保险法第八十三条's suit against one's employer was the 结论's 可以提起民事诉讼
    for 20 of 600 dev and probe answers, most about a pension stopped by a face check or
    a bank card frozen — stories with no employer in them."""
    m = COUNTERPARTY_DISPUTE.search(remedy.detail)
    if m is None or not roles:  # a question naming no actor keeps every route, as its rows do
        return False
    kinds = {role_of(a.group()) for a in actors_in(m.group(1))} - {ROLE_ANY, ROLE_CITIZEN}
    return bool(kinds) and not kinds & roles


#: A deadline that runs from another remedy's outcome (行政诉讼法第四十五条: 不服复议决定的，
#: 收到复议决定书之日起十五日内) or from the end of an obstacle (第四十八条: 障碍消除后十日内
#: 申请延长) is a later step, not the time a person has to act first.
LATER_DEADLINE = re.compile(r"复议决定|复议机关逾期不作决定|复审决定|申诉决定|障碍消除")


#: The laws that govern a remedy's procedure (matched against a law's title): their
#: deadline (行政诉讼法第四十六条: 六个月内) is the one that holds unless a special law of
#: the question's own field says otherwise (`_applicability`).
PROCEDURE_LAWS: dict[str, re.Pattern[str]] = {
    "行政复议": re.compile(r"行政复议"),
    "行政诉讼": re.compile(r"行政诉讼"),
    "国家赔偿": re.compile(r"国家赔偿"),
    "采购质疑": re.compile(r"政府采购"),
    "政府采购投诉": re.compile(r"政府采购"),
    "政府信息公开申请": re.compile(r"政府信息公开"),
    "民事诉讼": re.compile(r"民法典|民事诉讼法"),
    PI_REQUEST: re.compile(r"个人信息保护法"),
}


def _applicability(remedy: Remedy, issue_laws: frozenset[str]) -> int:
    """0 when the remedy's article is of a law the recognised issues cite (`issue_laws`:
    their title keys, `assistant.issue_map.cited_laws`), 1 when it is of
    the law that governs the remedy's procedure (`PROCEDURE_LAWS`), 2 otherwise.

    Why: a special law's deadline binds only in its own field. 注册会计师法第四十一条
    (十五日内直接向人民法院起诉) was retrieved for a tourism fine and gave its 十五日 as
    the suit's deadline although 行政诉讼法第四十六条 (六个月内) was among the evidence."""
    law = (split_ref(remedy.basis[0]) or ("", ""))[0] if remedy.basis else ""
    if title_key(law) in issue_laws:
        return 0
    governing = PROCEDURE_LAWS.get(remedy.remedy)
    return 1 if governing is not None and governing.search(law) else 2


def _remedy_lines(analysis: Analysis, intents: Iterable[str] = (),
                  issue_laws: frozenset[str] = frozenset()) -> list[ConclusionLine]:
    """What the harmed person can do and by when: one line per remedy kind (at most 3),
    those with a stated time limit and those the question asks about first; within a
    kind, the article of a law that applies (`_applicability`) first."""
    kinds: dict[str, list[Remedy]] = {}
    roles = _question_roles(analysis.scenario)
    for remedy in sorted(analysis.remedies, key=lambda r: _applicability(r, issue_laws)):
        if (remedy.basis and not remedy.remedy.startswith(NOT_THE_PERSONS) and not PUBLIC_CLAIMANTS.search(remedy.detail)
                and not _absent_counterparty(remedy, roles)):
            kinds.setdefault(remedy.remedy, []).append(remedy)
    asked = [k for intent in intents for k in _INTENT_REMEDIES.get(intent, ())]
    order = sorted(kinds, key=lambda k: (not any(r.time_limit for r in kinds[k]),
                                         asked.index(k) if k in asked else len(asked)))
    lines = []
    for kind in order[:3]:
        # the ordinary deadline (六十日内) before a later step's (不服复议决定的…十五日内, 障碍消除
        # 后十日内) and before an outer limit (超过二十年…不予受理) of the same remedy
        timed = sorted((r for r in kinds[kind] if r.time_limit),
                       key=lambda r: (_applicability(r, issue_laws), r.outer, bool(LATER_DEADLINE.search(r.detail))))
        verb = REMEDY_VERBS.get(kind, kind)
        shown = (timed or kinds[kind])[0]  # the remedy the line cites
        if kind == GENERIC_REMEDY and shown.detail:
            # a claim no remedy pattern names: say what the article gives (the map's one-line why, or the sentence)
            verb += f"（{_short(shown.detail, 40)}）"
        if timed:
            limit = "；".join(dict.fromkeys(timed[0].time_limit.split("；")))
            label = "最长期限" if timed[0].outer else "期限"
            lines.append(ConclusionLine("remedy", f"可以{verb}：{label} {limit}", basis=timed[0].basis[:1],
                                        time_limit=limit))
        else:
            lines.append(ConclusionLine("remedy", f"可以{verb}（条文未写明期限）", basis=kinds[kind][0].basis[:1]))
    return lines or [_no_support("remedy")]


#: An authority's period for an intermediate step — deciding whether to accept a case
#: (行政复议法第三十条: 五日内审查决定是否受理), forwarding it (信访工作条例第二十二条:
#: 15日内转送、交办) — is not how long it has to give the answer asked about; the
#: decision's period (第六十二条: 六十日内作出复议决定) comes first when both are cited.
INTERMEDIATE_STEP = re.compile(r"是否受理|决定受理|转送|交办|补正")


def _handling_line(analysis: Analysis) -> list[ConclusionLine]:
    """The authority's handling period (`AUTHORITY_DEADLINE`: 自受理之日起20个工作日内答复),
    as one line, for a question asking how long the other side has (`几天内要给答复？`,
    `提异议多久处理完？`: intent `handling`), which no remedy line (the person's own
    deadlines) says."""
    timed = [r for r in analysis.remedies if r.remedy.startswith(AUTHORITY_DEADLINE) and r.time_limit and r.basis]
    if not timed:
        return []
    first = min(timed, key=lambda r: bool(INTERMEDIATE_STEP.search(r.detail)))  # the first outcome, else the first
    what = first.remedy.removeprefix(AUTHORITY_DEADLINE).strip("（）")
    subject = f"（{what}）" if what else ""
    why = f"（{_short(first.detail, 40)}）" if first.detail else ""  # the map's why: what must be done by then
    return [ConclusionLine("handling", f"机关办理期限{subject}：{first.time_limit}{why}", basis=first.basis[:1],
                           time_limit=first.time_limit)]


def conclude(analysis: Analysis, understanding: Understanding | None = None,
             parties: list[Party] | None = None) -> list[ConclusionLine]:
    """The 结论 block (3–6 lines) from a verified analysis: who answers to the harmed person
    first, who bears what internally, who answers individually, what the person can do and
    by when. Each line cites the rows, slots or remedies it summarises — so every ref is
    already verified evidence — and a layer without support is one 无依据 line. `parties`
    are the rows before `group_parties` (one liability kind and article each), so a line
    cites the article of the liability it states; default: the analysis's own rows."""
    intents = understanding.intents if understanding else []
    lines = [_duty_line(analysis, parties)] if "duty" in intents else []
    commissioned = _commissioned(analysis.scenario, understanding)
    lines += [_external_line(analysis, intents, parties, commissioned), _internal_line(analysis),
              _individual_line(analysis, parties)]
    if "burden_of_proof" in intents:
        lines.append(_proof_line(analysis))
    handling = _handling_line(analysis) if "handling" in intents else []
    issue_laws = cited_laws(understanding.issues) if understanding else frozenset()
    return _fit(lines + _remedy_lines(analysis, intents, issue_laws)[: MAX_CONCLUSION_LINES - len(lines)], handling)


def says_nothing(analysis: Analysis) -> bool:
    """True when the analysis has no party row, no remedy and no slot with a legal basis;
    the paper's 学理观点 slots do not count, since every analysis gets them.

    Why: such an analysis is a grid of 无依据 under the paper's general views. For a
    question that also matched no issue of the map (Python怎么读取文件, 什么是区块链: a
    word the law uses often got it past the vocabulary gate) it is no analysis at all,
    and the answer says 未找到相关法律依据 instead (`Pipeline.ask`)."""
    if analysis.parties or analysis.remedies:
        return False
    return all(slot.no_basis or slot.label == SCHOLARSHIP_LABEL
               for name in LAYER_SLOTS for slot in getattr(analysis, name))


def _citation(item: Evidence) -> dict:
    return {
        "ref": item.ref,
        "law": item.law,
        "article": item.article,
        "text": item.text,
        "doc_type": item.doc_type,
        "status": item.status,
        "version_date": item.version_date,
        "repealed_by": item.repealed_by,
        "binding_force": binding_force(item.doc_type),
        "label": SCHOLARSHIP_LABEL if item.doc_type == "学术文献" else "",
        "citation": item.citation,
        "source": item.source,
        "page": item.page,
        "chapter": item.chapter,
    }


def _referenced(analysis: Analysis) -> list[str]:
    """Every reference the analysis makes: bases of rows and slots, then citations."""
    refs = _referenced_basis(analysis) + [c.get("ref", "") for c in analysis.citations]
    return list(dict.fromkeys(refs))


def verify(analysis: Analysis, evidence: Iterable[Evidence], resolve: Callable[[str], bool] | None = None) -> Analysis:
    """Remove every reference that is not an evidence ref (or does not resolve); rebuild
    citations and `no_basis`. Rows and slots left without any basis are dropped — a
    statement whose support was removed is no longer supported."""
    evidence = list(evidence)
    allowed = {e.ref for e in evidence}
    if resolve is not None:
        allowed = {ref for ref in allowed if resolve(ref)}
    removed = [ref for ref in _referenced(analysis) if ref not in allowed]

    def keep(refs: list[str]) -> list[str]:
        return [r for r in refs if r in allowed]

    for party in analysis.parties:
        party.basis = keep(party.basis)
        designations = [Designation(d.name, keep(d.basis)) for d in party.also_called]
        party.also_called = [d for d in designations if d.basis]
    analysis.parties = [p for p in analysis.parties if p.basis]
    for remedy in analysis.remedies:
        remedy.basis = keep(remedy.basis)
    analysis.remedies = [r for r in analysis.remedies if r.basis]
    for name in LAYER_SLOTS:
        kept = []
        for slot in getattr(analysis, name):
            if slot.no_basis:
                continue
            slot.basis = keep(slot.basis)
            if slot.basis:
                kept.append(slot)
        setattr(analysis, name, kept)
    for index, line in enumerate(analysis.conclusion):
        line.basis = keep(line.basis)
        if not line.basis and line.kind in CONCLUSION_LAYERS:
            analysis.conclusion[index] = _no_support(line.kind)
    analysis.removed_references = sorted(set(analysis.removed_references) | set(removed))
    _finish(analysis, evidence, allowed)
    return analysis


def _finish(analysis: Analysis, evidence: list[Evidence], allowed: set[str]) -> None:
    """Citations for exactly the cited refs; placeholders and `no_basis` for empty slots."""
    by_ref = {e.ref: e for e in evidence}
    cited = [ref for ref in _referenced_basis(analysis) if ref in allowed and ref in by_ref]
    analysis.citations = [_citation(by_ref[ref]) for ref in cited]
    scholarly = {e.ref for e in evidence if e.doc_type == "学术文献"}
    analysis.no_basis = []
    if not analysis.parties:
        analysis.no_basis.append(SLOT_NAMES["parties"])
    for name in LAYER_SLOTS:
        slots = getattr(analysis, name)
        legal = [s for s in slots if not s.no_basis and any(r not in scholarly for r in s.basis)]
        if not legal:
            analysis.no_basis.append(SLOT_NAMES[name])
            if not any(s.no_basis for s in slots):
                slots.append(Slot())
    if not analysis.remedies:
        analysis.no_basis.append(SLOT_NAMES["remedies"])


def _referenced_basis(analysis: Analysis) -> list[str]:
    refs: list[str] = []
    for party in analysis.parties:
        refs += party.basis
    for name in LAYER_SLOTS:
        for slot in getattr(analysis, name):
            refs += slot.basis
    for remedy in analysis.remedies:
        refs += remedy.basis
    for line in analysis.conclusion:
        refs += line.basis
    return list(dict.fromkeys(refs))


#: Roles of issue-map provisions that can fill a 结论 layer the evidence leaves 无依据, and
#: how many of the recognised issues (in score order) are tried.
#: A layer is filled only from provisions whose role in the issue is about that layer.
LAYER_ROLES = {
    "external": ("defendant", "liability", "remedy"),  # remedy: 受害人有取得赔偿的权利 names who pays
    "internal": ("liability",),  # not duty: its 委托/合同 sentences were mostly not about who bears what (checked on the dev sets)
    "individual": ("liability",),
    "duty": ("duty",),
    "proof": ("burden_of_proof", "liability"),  # liability: 个人信息保护法第六十九条's presumed fault
    "remedy": ("remedy", "time_limit"),
}
FALLBACK_ROLES = tuple(dict.fromkeys(role for roles in LAYER_ROLES.values() for role in roles))
FALLBACK_ISSUES = 3
#: The layers that say who answers — 对外 (to the harmed person) and 个人 (personally) —
#: are filled from an issue only for a question that asks who answers: liable,
#: compensation or whom to sue (`WHO_ANSWERS_INTENTS`). Why: read over 720 dev and probe
#: answers, the filled lines of questions asking something else (能要来看看吗, 合理吗, 怎么
#: 弄掉, 还能复议吗) named parties of the issue's provisions that the story does not have
#: (被告 of a 政府信息公开 suit for `政府那个平台存了我哪些信息`; 工作人员——刑事责任 of the
#: 工伤认定 issue for a worker who fell from a scaffold); 无依据 says what is true.
WHO_ANSWERS_LAYERS = ("external", "individual")
WHO_ANSWERS_INTENTS = frozenset({"liability", "compensation", "defendant"})


def _fillable(layer: str, understanding: Understanding | None) -> bool:
    """Whether a 无依据 `layer` may be filled from the recognised issues (`WHO_ANSWERS_INTENTS`)."""
    return layer not in WHO_ANSWERS_LAYERS or bool(WHO_ANSWERS_INTENTS.intersection(understanding.intents if understanding else ()))


def _layer(line: ConclusionLine) -> str:
    """The layer of a 结论 line (a key of `CONCLUSION_LAYERS`), 无依据 lines included."""
    if line.kind in CONCLUSION_LAYERS:
        return line.kind
    return next((kind for kind, name in CONCLUSION_LAYERS.items() if line.text.startswith(name + "：")), "")


def fill_from_issues(lines: list[ConclusionLine], shadow: list[ConclusionLine], issue_name: str,
                     layer: str) -> list[ConclusionLine]:
    """The 无依据 line of `layer` replaced by that layer's lines of `shadow` (the 结论 of
    the recognised issue's provisions for the layer), labelled with the issue; layers the
    evidence supports are kept as they are, and a layer the issue does not support stays 无依据.

    Why: the retrieved articles often miss the provision that governs a layer (who is the
    defendant, the time limit of 复议) although the issue the question raises names it;
    a lawyer would look there before saying there is no basis. A remedy the provision does
    not name (`可以依该条主张权利`) says too little to replace 无依据."""
    out: list[ConclusionLine] = []
    for line in lines:
        found = [s for s in shadow if s.kind == layer and s.basis and REMEDY_VERBS[GENERIC_REMEDY] not in s.text
                 ] if line.kind == "no_basis" and _layer(line) == layer else []
        if not found:
            out.append(line)
            continue
        out += [_labelled(s, issue_name) for s in found]
    return out


def _labelled(line: ConclusionLine, issue_name: str) -> ConclusionLine:
    return ConclusionLine(line.kind, f"{line.text}（据识别的法律问题“{issue_name}”的条文）", list(line.basis), line.time_limit)


def _lacks_deadline(lines: list[ConclusionLine], understanding: Understanding | None) -> bool:
    """The question asks by when (`deadline`) and no remedy line states a time limit."""
    return (understanding is not None and "deadline" in understanding.intents
            and any(line.kind == "remedy" for line in lines)
            and not any(line.time_limit for line in lines if line.kind == "remedy"))


def _lacks_handling(lines: list[ConclusionLine], understanding: Understanding | None) -> bool:
    """The question asks how long the authority has (`handling`) and no line gives it."""
    return (understanding is not None and "handling" in understanding.intents
            and not any(line.kind == "handling" for line in lines))


def add_handling(lines: list[ConclusionLine], shadow: list[ConclusionLine], issue_name: str) -> list[ConclusionLine]:
    """The issue's handling-period line (`_handling_line`), labelled with the issue, last,
    where it fits (`_fit`)."""
    return _fit(lines, [_labelled(s, issue_name) for s in shadow if s.kind == "handling" and s.basis])


def add_time_limits(lines: list[ConclusionLine], shadow: list[ConclusionLine], issue_name: str) -> list[ConclusionLine]:
    """For a question asking by when, the issue's remedy lines that state a time limit go
    first among the remedy lines (at most 3 remedy lines, as in `_remedy_lines`); the
    others keep their place. Why: 最晚什么时候 is what was asked, and the retrieved remedy
    articles (`可以申请行政复议（条文未写明期限）`) did not answer it."""
    timed = [_labelled(s, issue_name) for s in shadow if s.kind == "remedy" and s.basis and s.time_limit]
    if not timed:
        return lines
    verb = lambda line: re.split(r"[：（]", line.text, maxsplit=1)[0]  # noqa: E731 — `可以申请行政复议`
    remedies = [line for line in lines if line.kind == "remedy"]
    handling = [line for line in lines if line.kind == "handling"]
    untimed = [line for line in remedies if verb(line) not in {verb(t) for t in timed}]  # same route, now timed
    room = MAX_CONCLUSION_LINES - (len(lines) - len(remedies) - len(handling))
    kept = (timed + untimed)[:max(len(remedies), min(3, room, len(timed) + len(untimed)))]
    return _fit([line for line in lines if line.kind not in ("remedy", "handling")] + kept, handling)


def _fit(lines: list[ConclusionLine], handling: list[ConclusionLine]) -> list[ConclusionLine]:
    """`lines` then the handling-period line, within `MAX_CONCLUSION_LINES`: it takes the
    place of an untimed last remedy line (one of two or more), never of a timed one — a
    question asking by when is answered by the person's own deadlines first."""
    if not handling:
        return lines
    if len(lines) < MAX_CONCLUSION_LINES:
        return lines + handling[:1]
    remedies = [i for i, line in enumerate(lines) if line.kind == "remedy"]
    if len(remedies) < 2 or lines[remedies[-1]].time_limit:
        return lines
    return lines[: remedies[-1]] + lines[remedies[-1] + 1 :] + handling[:1]


def analyse(
    question: str,
    evidence: list[Evidence],
    *,
    resolve: Callable[[str], bool] | None = None,
    scholarship=None,
    understanding: Understanding | None = None,
    issue_evidence: list[tuple[RecognisedIssue, list[Evidence]]] | None = None,
) -> Analysis:
    """The responsibility analysis of `question` from `evidence` only (see module doc).

    `scholarship` (a parsed paper Document) adds its framework paragraphs as evidence so
    a 学理观点 slot can cite them; without it, 学理观点 appears only if the paper's units
    are already among `evidence`. `understanding` (what `assistant.understanding` recognised)
    lets the roles of the recognised issues keep their party rows and the issues'
    remedy / time-limit provisions give remedies with their time limits. `issue_evidence`
    ((issue, its liability / defendant / remedy / time-limit provisions) for the first
    recognised issues, `Pipeline.issue_evidence`) fills 结论 layers the evidence leaves
    无依据, issue by issue in score order, each layer only from the provisions whose role is
    about it (`LAYER_ROLES`, `fill_from_issues`); it never adds party rows, so the table
    rests on what was retrieved.
    """
    evidence = list(evidence)
    if scholarship is not None:
        known = {e.ref for e in evidence}
        evidence += [e for e in scholarship_evidence(scholarship, rank=len(evidence) + 1) if e.ref not in known]
    scenario = recognise_scenario(question)
    reads = [
        _Read(item, _classified(item.text, item.law))
        for item in evidence
        if is_liability_source(item.doc_type) and item.status != "duplicate"
    ]
    row_reads = _row_reads(reads)
    rows = _party_rows(row_reads, scenario) + _designation_rows(row_reads, scenario)
    rows += _compensation_right_rows(row_reads, scenario)
    rows = _relevant_rows(rows, reads, question, scenario, understanding)
    rows += _duty_rows(row_reads, scenario, rows)
    duties = {(row[0].party, row[0].basis[0]) for row in rows}
    rows += [row for row in _issue_duty_rows(row_reads, scenario, understanding)
             if (row[0].party, row[0].basis[0]) not in duties]
    rows = [row for row in rows if not _absent_third_party(row[0], question)]  # the duty rows' too
    slots = _slots(reads, rows, scenario, understanding, question)
    for name, extra in _scholarship_slots(evidence).items():
        slots[name] += extra
    analysis = Analysis(
        scenario=scenario,
        parties=group_parties(row[0] for row in rows),
        external=slots["external"],
        internal=slots["internal"],
        individual=slots["individual"],
        fault_principle=slots["fault_principle"],
        remedies=_issue_remedies(_remedies(reads), evidence, understanding),
    )
    analysis = verify(analysis, evidence, resolve)
    kept = {ref for party in analysis.parties for ref in party.basis}
    analysis.conclusion = conclude(analysis, understanding, [row[0] for row in rows if row[0].basis[0] in kept])
    for issue, items in issue_evidence or []:
        roles = {p.ref: p.role for p in issue.provisions}
        for layer, wanted in LAYER_ROLES.items():
            empty = _fillable(layer, understanding) and any(
                line.kind == "no_basis" and _layer(line) == layer for line in analysis.conclusion)
            untimed = layer == "remedy" and _lacks_deadline(analysis.conclusion, understanding)
            unhandled = layer == "remedy" and _lacks_handling(analysis.conclusion, understanding)
            chosen = [e for e in items if roles.get(e.ref) in wanted]
            if not (empty or untimed or unhandled) or not chosen:
                continue
            shadow = analyse(question, chosen, resolve=resolve, understanding=understanding)
            if empty:
                analysis.conclusion = fill_from_issues(analysis.conclusion, shadow.conclusion, issue.name, layer)
            elif untimed:
                analysis.conclusion = add_time_limits(analysis.conclusion, shadow.conclusion, issue.name)
            if unhandled:
                analysis.conclusion = add_handling(analysis.conclusion, shadow.conclusion, issue.name)
            known = {e.ref for e in evidence}
            evidence += [e for e in chosen if e.ref not in known]
    return verify(analysis, evidence, resolve)
