"""Record types of the answer layer: hits → evidence → analysis → answer.

`Evidence` is a retrieved unit together with the metadata of its document, so the
analysis never needs the index; `Answer.to_dict()` is the stable `fagui ask --json`
shape (issue 4) that later tools (eval, app) read.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    """One retrieved unit with everything needed to cite it.

    `law` is the document title; `article` the unit's number (`第四十条`, or a section
    label for policy documents); `ref` = law + article, the form used in `basis` lists.
    """

    unit_id: str
    doc_id: str
    law: str
    article: str
    text: str
    doc_type: str
    status: str
    version_date: str = ""
    chapter: str = ""  # heading path joined with " / "
    source: str = ""  # source file (relative to the collection root)
    page: int | None = None
    region: str = ""
    kind: str = "article"
    rank: int = 0
    scores: dict[str, float] = field(default_factory=dict)
    origin: str = "search"  # search | lookup | xref | liability-pair | history | scholarship
    citation: str = ""  # bibliographic citation for scholarship (学理观点) units
    repealed_by: str = ""  # a repealed instrument: the article that repealed it (corpus Document)

    @property
    def ref(self) -> str:
        return f"{self.law}{self.article}"

    def to_hit_dict(self) -> dict[str, Any]:
        """The `hits[]` element of the --json output."""
        return {
            "rank": self.rank,
            "unit_id": self.unit_id,
            "law": self.law,
            "article": self.article,
            "chapter": self.chapter,
            "text": self.text,
            "doc_type": self.doc_type,
            "status": self.status,
            "version_date": self.version_date,
            "repealed_by": self.repealed_by,
            "source": self.source,
            "page": self.page,
            "origin": self.origin,
            "scores": {k: self.scores.get(k) for k in ("bm25", "dense", "fused")},
        }


@dataclass
class Designation:
    """Another name a statute gives a party of the story (`数据处理者` for the contractor a
    row is headed `个人信息处理者`), with the articles that use that name."""

    name: str
    basis: list[str] = field(default_factory=list)


@dataclass
class Party:
    """One row of 责任主体: who, in which role, what kind of liability, on what basis."""

    party: str
    role: str
    liability: str  # 行政责任 / 民事责任 / 国家赔偿 / 刑事责任 / 政务处分 / 合同责任
    consequence: str  # as the article states it
    basis: list[str] = field(default_factory=list)  # refs "<law><article>"
    question_actor: str = ""  # the question's words for this party (e.g. 科技公司)
    note: str = ""  # how a subject the article does not write was inferred
    also_called: list[Designation] = field(default_factory=list)  # the statutes' other names for it


#: Label of a grouped party's other statutory names (`also_called_text`).
ALSO_CALLED = "条文另称"


def also_called_text(party: Party) -> str:
    """`条文另称：数据处理者（…第四十五条）；单位（…）` — how every view shows the other names the
    statutes give one party of the story; '' when they use one name."""
    if not party.also_called:
        return ""
    return f"{ALSO_CALLED}：" + "；".join(f"{d.name}（{'、'.join(d.basis)}）" for d in party.also_called)


@dataclass
class Remedy:
    remedy: str  # 行政复议 / 行政诉讼 / 国家赔偿 / 民事诉讼 / 行政补偿 / 投诉举报
    time_limit: str = ""  # only when the cited text states it
    basis: list[str] = field(default_factory=list)
    detail: str = ""  # the sentence (or the decision) the remedy is read from
    outer: bool = False  # `time_limit` is an outer limit (最长不得超过一年), not the ordinary deadline


@dataclass
class Slot:
    """A free-text slot of the analysis (external / internal / individual / fault).

    `statement` is empty and `no_basis` True when no retrieved article supports it.
    `label` marks non-binding content, e.g. 学理观点 from the scholarship paper.
    """

    statement: str = ""
    basis: list[str] = field(default_factory=list)
    no_basis: bool = True
    label: str = ""


@dataclass(frozen=True)
class IssueProvision:
    """One provision an issue of the issue map (法律问题图谱) names, with its role there.

    `role` is one of `assistant.issue_map.PROVISION_ROLES` (basis / duty / liability /
    remedy / time_limit / defendant / burden_of_proof); `time_limit` is set only when the
    article's own text states it.
    """

    law: str
    article: str
    role: str
    why: str = ""
    time_limit: str = ""

    @property
    def ref(self) -> str:
        return f"{self.law}{self.article}"


@dataclass(frozen=True)
class RecognisedIssue:
    """An issue of the map that the question signals, with the cues that signalled it."""

    issue_id: str
    name: str
    area: str = ""
    score: float = 0.0
    cues: tuple[str, ...] = ()
    act_kinds: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()  # parties the issue names (keeps party rows)
    region: str = ""
    provisions: tuple[IssueProvision, ...] = ()


@dataclass
class Understanding:
    """What was recognised in a question before retrieval (识别的法律问题).

    `facts` is the narrative part and `asks` the sentences that ask something; `intents`
    name what is asked (liability, compensation, amount, remedy_route, deadline,
    defendant, burden_of_proof); `legal` is False for a question with no recognisable
    legal content, which then gets no analysis. `names_party`: the question names someone
    other than the asker (an agency, a firm, staff, a neighbour, a doctor, or a passive
    被…); a question without legal content that does is still searched, its results listed
    apart (检索结果), so a real question in words the gate does not know is not left empty.
    """

    facts: str = ""
    asks: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    harms: list[str] = field(default_factory=list)
    relations: list[str] = field(default_factory=list)
    act_kinds: list[str] = field(default_factory=list)
    issues: list[RecognisedIssue] = field(default_factory=list)
    region: str = ""
    legal: bool = True
    names_party: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ConclusionLine:
    """One line of the 结论 block: who / what, always with its cited basis.

    `kind` is duty (what each party must do; only when the question asks), external (who
    answers to the harmed person first), internal (who bears what among the parties),
    individual (staff), proof (who has to prove what; only when the question asks), remedy
    (what the person can do, and by when), handling (how long the authority has to act;
    only when the question asks by when) or no_basis (a layer the evidence does not
    support: stated as 无依据).
    """

    kind: str
    text: str
    basis: list[str] = field(default_factory=list)
    time_limit: str = ""


#: The sections of the responsibility analysis, by `Analysis` attribute → the heading users
#: read. The one list: the analysis names its empty sections (`no_basis`) with it, and the
#: CLI, the HTML and the exports print it.
SLOT_NAMES = {
    "parties": "责任主体",
    "external": "外部责任",
    "internal": "内部责任",
    "individual": "个人责任",
    "fault_principle": "归责原则",
    "remedies": "救济途径",
}
#: The four layers that hold `Slot` lists, in display order.
LAYER_SLOTS = ("external", "internal", "individual", "fault_principle")


@dataclass
class Analysis:
    scenario: dict[str, list[str]] = field(default_factory=dict)  # actors, harms
    conclusion: list[ConclusionLine] = field(default_factory=list)  # 结论: 3–6 cited lines
    parties: list[Party] = field(default_factory=list)
    external: list[Slot] = field(default_factory=list)
    internal: list[Slot] = field(default_factory=list)
    individual: list[Slot] = field(default_factory=list)
    fault_principle: list[Slot] = field(default_factory=list)
    remedies: list[Remedy] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    no_basis: list[str] = field(default_factory=list)  # names of slots without basis
    removed_references: list[str] = field(default_factory=list)  # failed verification

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    collection: str
    hits: list[Evidence] = field(default_factory=list)
    analysis: Analysis = field(default_factory=Analysis)
    lookup: dict[str, Any] = field(default_factory=dict)  # direct article lookup result
    timings_ms: dict[str, float] = field(default_factory=dict)
    understanding: Understanding | None = None  # 识别的法律问题 (None for pure lookups)
    background: list[Evidence] = field(default_factory=list)  # 背景: policy and scholarship, ranked apart
    no_legal_basis: str = ""  # "未找到相关法律依据" + what was searched, when nothing legal was recognised
    retrieval: dict[str, Any] = field(default_factory=dict)  # requested / used mode and why
    # The model-written answer when a model server is configured (assistant.llm_answer):
    # text, verified / removed references, model, prompt version, fallback note.
    written: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "collection": self.collection,
            "hits": [h.to_hit_dict() for h in self.hits],
            "analysis": self.analysis.to_dict(),
            "lookup": self.lookup,
            "timings_ms": self.timings_ms,
            "understanding": self.understanding.to_dict() if self.understanding else None,
            "background": [h.to_hit_dict() for h in self.background],
            "no_legal_basis": self.no_legal_basis,
            "retrieval": self.retrieval,
            "written": self.written,
        }
