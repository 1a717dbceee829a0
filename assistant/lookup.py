"""Direct article lookup: law names → laws, `数安法第45条` → the exact unit, nothing similar.

A question that names an article wants that article, not the ten most similar
passages. This module has three layers, each a small pure piece:

1. `LawCatalog` — every law of a collection (versions grouped, duplicates left out)
   and every name it can be called by:

   * the full title (`中华人民共和国数据安全法`) and the title core without the
     `中华人民共和国` prefix (`数据安全法`), with or without book-title marks;
   * *derived* short names by the four-character rule of `indexer.segment`
     (`derived_short_name`: 数据安全法 → 数安法, 行政诉讼法 → 行诉法, 政府采购法 → 政采法), kept
     only when exactly one law in the catalog produces it and it is not itself a title;
   * *conventional* short names that no rule predicts — `indexer.segment.CONVENTIONAL_SHORT_NAMES`
     (个保法, 复议法, 消保法 …) plus `EXTRA_SHORT_NAMES` here (招投标法, 个信法 …); a
     conventional name only applies when its law is in the catalog.

   A name that fits several laws is resolved by rank: how it matched (title before
   conventional before derived), then national laws before regulations before
   interpretations before local rules. When the best rank is shared, all tied laws
   are returned with a note instead of guessing.

2. `parse_article_refs` — finds references in free text: `数据安全法第四十五条`,
   `《个人信息保护法》第三十四条、第三十五条`, `数安法45条`, `民法典第1165条`,
   `行政诉讼法第二十六条第二款`, `第二十二条第三款第（一）项`, lists (、 和 及 与 ，), ranges
   (`第十条至第十二条`, `第10-12条`, `第十至十二条`), shorthand lists (`第三十四、三十五条`),
   `第二百五十三条之一`, and relative names (`本法`, `本条例` … → the context law; `该法`
   → the law named last). `corpus.numerals` canonicalises every label.

3. `lookup` — turns the references of a question into `ArticleMatch`es: the unit of
   the current version, superseded versions as history with their dates, the 款 / 项
   asked for, and an explicit message when the law or the article does not exist
   (with near law names, or the number of articles the law has).
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from assistant.analysis import evidence_from_unit
from assistant.records import Evidence
from corpus.numerals import NUMERAL_CHARS, SMALL_NUMERAL_CHARS, article_label, chinese_to_int, label_numeral, parse_article_label
from corpus.records import Document, Unit
from corpus.versions import NATIONAL_REGIONS, VersionIndex, title_key
from indexer.segment import CONVENTIONAL_SHORT_NAMES, derived_short_name, title_core

#: Conventional short names missing from `indexer.segment.CONVENTIONAL_SHORT_NAMES`
#: (keys are title cores; both tables are used). Names the four-character rule
#: already derives (数安法, 网安法, 政采法, 国赔法 …) need no entry.
EXTRA_SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "招标投标法": ("招投标法",),
    "招标投标法实施条例": ("招投标法实施条例",),
    "政府采购法实施条例": ("政采法实施条例",),
    "网络数据安全管理条例": ("网数条例",),
    "关键信息基础设施安全保护条例": ("关基条例",),
    "公职人员政务处分法": ("政务处分法",),
    "保守国家秘密法": ("保密法",),
    "保守国家秘密法实施条例": ("保密法实施条例",),
    "反电信网络诈骗法": ("反诈法",),
    "行政复议法实施条例": ("复议法实施条例",),
    "突发事件应对法": ("突发事件法",),
    "税收征收管理法": ("税收征管法", "征管法"),
}

#: How a name matched a law; lower is stronger (used when a name fits several laws).
MATCH_TITLE, MATCH_CONVENTIONAL, MATCH_DERIVED = 0, 1, 2
MATCH_NAMES = {MATCH_TITLE: "title", MATCH_CONVENTIONAL: "conventional", MATCH_DERIVED: "derived"}

#: National laws first, then regulations, interpretations, rules, local rules, the rest.
DOC_TYPE_RANK = {"法律": 0, "行政法规": 1, "司法解释": 2, "部门规章": 3, "地方性法规": 4}

# --------------------------------------------------------------------------- catalog


@dataclass
class LawEntry:
    """One instrument with all its versions: current first, then superseded newest first.

    `law_id` is stable and unique: law_key|doc_type|region|part (`corpus.versions.version_group`);
    `versions` is that group of the catalog's `VersionIndex`.
    """

    law_id: str
    title: str
    core: str
    doc_type: str
    region: str
    versions: list[Document]
    names: list[str] = field(default_factory=list)  # every name that resolves here

    @property
    def current(self) -> Document:
        return self.versions[0]

    @property
    def national(self) -> bool:
        return self.region.strip() in NATIONAL_REGIONS

    def version_at(self, date: str) -> Document:
        """The version a text of `date` (ISO) cites: the latest one adopted on or before
        that date, else the earliest dated one (the text predates every version we
        have); the current version when `date` is unknown.

        Renumbering revisions (行政复议法 2023) make this matter: a 2007 regulation's
        `行政复议法第二十八条` is not article 28 of the 2023 text.
        """
        if not date:
            return self.current
        dated = [d for d in self.versions if d.version_date]
        if not dated:
            return self.current
        before = [d for d in dated if d.version_date <= date]
        if before:
            return max(before, key=lambda d: (d.version_date, d.status == "current"))
        return min(dated, key=lambda d: (d.version_date, d.doc_id))

    def rank(self) -> tuple[int, int, int]:
        """National laws first (the brief's tie-break), then anything with a current version."""
        current = 0 if self.current.status == "current" else 1
        return (DOC_TYPE_RANK.get(self.doc_type, 9), 0 if self.national else 1, current)


@dataclass(frozen=True)
class LawResolution:
    """What a name resolved to. `law_ids` is ranked; `ambiguous` when the top rank is shared."""

    name: str
    law_ids: tuple[str, ...] = ()
    matched_by: str = ""  # title | conventional | derived | ""
    ambiguous: bool = False
    note: str = ""

    @property
    def found(self) -> bool:
        return bool(self.law_ids)


class LawCatalog:
    """Law names → laws, and (law, article label) → unit, for one set of documents.

    Built once per collection; lookups are dictionary reads. Only `current` and
    `superseded` documents take part — a `duplicate` is another copy of a version
    that is already here. The laws are the groups of the collection's one
    `corpus.versions.VersionIndex` (`self.versions`, built here), which the ask
    pipeline reads for its history too.
    """

    def __init__(self, documents: Iterable[Document]):
        self.versions = VersionIndex(documents)
        self.entries: dict[str, LawEntry] = {}
        for law_id, versions in self.versions.groups.items():
            head = versions[0]
            title = unicodedata.normalize("NFKC", head.title).strip()
            self.entries[law_id] = LawEntry(
                law_id=law_id,
                title=head.title,
                core=title_core(title),
                doc_type=head.doc_type,
                region=head.region,
                versions=versions,
            )
        self._doc_by_id: dict[str, Document] = {}
        for entry in self.entries.values():
            for doc in entry.versions:
                self._doc_by_id[doc.doc_id] = doc
        # name (normalised) → {law_id: how it matched}
        self._names: dict[str, dict[str, int]] = {}
        self._build_names()
        self._surface = set(self._names) | {"中华人民共和国" + n for n in self._names}
        self._max_surface_len = max((len(n) for n in self._surface), default=0)
        self._final_chars = {n[-1] for n in self._surface}
        self._suggester = _NgramSuggester(self)
        self._resolved: dict[str, LawResolution] = {}  # names never change after construction

    # ----------------------------------------------------------------- names
    def _add_name(self, name: str, law_id: str, how: int) -> None:
        key = title_key(name)
        if len(key) < 2:
            return
        slot = self._names.setdefault(key, {})
        if how < slot.get(law_id, 99):
            slot[law_id] = how

    def _build_names(self) -> None:
        titles = {title_key(e.title) for e in self.entries.values()}
        for entry in self.entries.values():
            for doc in entry.versions:  # an old version may carry an older title
                self._add_name(doc.title, entry.law_id, MATCH_TITLE)
        by_core: dict[str, list[str]] = {}
        for entry in self.entries.values():
            by_core.setdefault(title_key(entry.core), []).append(entry.law_id)
        conventional: dict[str, set[str]] = {}
        for table in (CONVENTIONAL_SHORT_NAMES, EXTRA_SHORT_NAMES):
            for core, shorts in table.items():
                conventional.setdefault(title_key(core), set()).update(shorts)
        derived: dict[str, set[str]] = {}
        for core, law_ids in by_core.items():
            short = derived_short_name(core)
            if short:
                derived.setdefault(short, set()).update(law_ids)
            for short in conventional.get(core, ()):
                for law_id in law_ids:
                    self._add_name(short, law_id, MATCH_CONVENTIONAL)
        for short, law_ids in derived.items():
            # the rule is only trusted when it is unambiguous and shadows no title
            cores = {title_key(self.entries[i].core) for i in law_ids}
            if len(cores) == 1 and short not in titles:
                for law_id in law_ids:
                    self._add_name(short, law_id, MATCH_DERIVED)
        for key, slot in self._names.items():
            for law_id in slot:
                self.entries[law_id].names.append(key)
        for entry in self.entries.values():
            entry.names.sort(key=lambda n: (-len(n), n))

    @property
    def names(self) -> dict[str, dict[str, str]]:
        """Every known name → {law_id: how it matched}; for reports and tests."""
        return {n: {i: MATCH_NAMES[h] for i, h in slot.items()} for n, slot in sorted(self._names.items())}

    def resolve(self, name: str) -> LawResolution:
        """A law name → ranked law ids; ambiguous (with a note) when the best rank is shared."""
        cached = self._resolved.get(name)
        if cached is None:
            cached = self._resolved[name] = self._resolve(name)
        return cached

    def _resolve(self, name: str) -> LawResolution:
        key = title_key(name)
        slot = self._names.get(key)
        if not slot:
            return LawResolution(name=name, note=f"未找到名为“{name}”的法律法规")
        ranked = sorted(slot, key=lambda i: (slot[i], self.entries[i].rank(), self.entries[i].title, i))
        best = (slot[ranked[0]], self.entries[ranked[0]].rank())
        tied = [i for i in ranked if (slot[i], self.entries[i].rank()) == best]
        how = MATCH_NAMES[slot[ranked[0]]]
        if len(tied) > 1:
            titles = "、".join(f"《{self.entries[i].title}》（{self.entries[i].doc_type}{'，' + self.entries[i].region if self.entries[i].region else ''}）" for i in tied)
            return LawResolution(
                name=name, law_ids=tuple(tied), matched_by=how, ambiguous=True,
                note=f"“{name}”可指多部法规：{titles}，均列出",
            )
        return LawResolution(name=name, law_ids=(ranked[0],), matched_by=how)

    def longest_name_suffix(self, text: str) -> str:
        """The longest known name that `text` ends with (as written), or ''.

        Matches surface forms (each name with and without 中华人民共和国) by slicing, so
        scanning 60k articles stays cheap.
        """
        if not text or text[-1] not in self._final_chars:
            return ""
        for length in range(min(self._max_surface_len, len(text)), 1, -1):
            if text[-length:] in self._surface:
                return text[-length:]
        return ""

    def suggest(self, name: str, limit: int = 5) -> list[str]:
        """Titles whose names look like `name` (char 1–2-gram TF-IDF cosine), best first."""
        return self._suggester.suggest(name, limit)

    # -------------------------------------------------------------- articles
    def entry(self, law_id: str) -> LawEntry:
        return self.entries[law_id]

    def document(self, doc_id: str) -> Document:
        return self._doc_by_id[doc_id]

    def articles_of(self, doc: Document) -> dict[str, Unit]:
        """Canonical label → article unit of one document version (`VersionIndex.articles_of`)."""
        return self.versions.articles_of(doc)


class _NgramSuggester:
    """Near law names for a name that is not in the catalog.

    Character 1- and 2-grams weighted by inverse document frequency over all names,
    so the distinctive part of a name (数据, 信息) counts more than the part every law
    shares (法, 保护). Cosine similarity; ties broken by title. Cheap: a few thousand
    names are scored per call.
    """

    def __init__(self, catalog: LawCatalog):
        self.catalog = catalog
        self.rows: list[tuple[str, str, dict[str, float], float]] = []  # name, law_id, vec, norm
        grams_per_name: list[tuple[str, str, Counter]] = []
        df: Counter = Counter()
        for name, slot in catalog._names.items():
            grams = self._grams(name)
            df.update(set(grams))
            for law_id in slot:
                grams_per_name.append((name, law_id, grams))
        total = max(len(catalog._names), 1)
        self.idf = {g: math.log((1 + total) / (1 + n)) + 1.0 for g, n in df.items()}
        self.default_idf = math.log(1 + total) + 1.0
        for name, law_id, grams in grams_per_name:
            vec = self._weights(grams)
            self.rows.append((name, law_id, vec, math.sqrt(sum(v * v for v in vec.values()))))

    @staticmethod
    def _grams(name: str) -> Counter:
        core = re.sub(r"[^\w]", "", name)
        return Counter(list(core) + [core[i : i + 2] for i in range(len(core) - 1)])

    def _weights(self, grams: Counter) -> dict[str, float]:
        return {g: c * self.idf.get(g, self.default_idf) for g, c in grams.items()}

    def suggest(self, name: str, limit: int) -> list[str]:
        query = self._weights(self._grams(title_key(name)))
        qnorm = math.sqrt(sum(v * v for v in query.values()))
        if not qnorm:
            return []
        best: dict[str, float] = {}
        for _, law_id, vec, norm in self.rows:
            if not norm:
                continue
            dot = sum(w * vec.get(g, 0.0) for g, w in query.items())
            score = dot / (qnorm * norm)
            if score > best.get(law_id, 0.0):
                best[law_id] = score
        entries = self.catalog.entries
        ranked = sorted(best, key=lambda i: (-round(best[i], 9), entries[i].rank(), entries[i].title, i))
        out: list[str] = []
        for law_id in ranked:
            if best[law_id] < 0.2:
                break
            title = entries[law_id].title
            if title not in out:
                out.append(title)
            if len(out) == limit:
                break
        return out


# ------------------------------------------------------------ reference parsing


@dataclass(frozen=True)
class ArticleRef:
    """One article referred to in a text.

    `law_text` is the law as written (`数安法`, `《个人信息保护法》`, `本法`, or '' when
    no law is named); `law` the resolved title (None when unresolved or ambiguous —
    then `candidates` holds the tied titles and `law_ids` their ids). `article` is the
    canonical label; `paragraph` (款) and `item` (项) are 1-based when given. `span` is
    the article part in the text, `law_span` the law name (or (-1, -1)). `relative`
    marks 本法/本条例-style references, resolved against the context law. `range_of`
    is the written range a reference was expanded from (`第十条至第十二条`).
    """

    law_text: str
    law: str | None
    article: str
    paragraph: int | None = None
    item: int | None = None
    span: tuple[int, int] = (-1, -1)
    law_span: tuple[int, int] = (-1, -1)
    law_ids: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    relative: bool = False
    inherited: bool = False  # law carried over from an earlier mention (该法 / a list)
    range_of: str = ""
    note: str = ""

    @property
    def number(self) -> tuple[int, int]:
        return parse_article_label(self.article)

    @property
    def label(self) -> str:
        """`第二十六条第二款第（一）项` — the reference as a citation."""
        text = self.article
        if self.paragraph:
            text += f"第{_cn(self.paragraph)}款"
        if self.item:
            text += f"第（{_cn(self.item)}）项"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "law_text": self.law_text, "law": self.law, "article": self.article,
            "paragraph": self.paragraph, "item": self.item, "span": list(self.span),
            "law_span": list(self.law_span), "law_ids": list(self.law_ids),
            "candidates": list(self.candidates), "relative": self.relative,
            "inherited": self.inherited, "range_of": self.range_of, "note": self.note,
        }


def _cn(n: int) -> str:
    return label_numeral(n)


_NUM = f"[{NUMERAL_CHARS}]+"
_TOKEN_RE = re.compile(
    rf"(?P<art>(?P<art_di>第\s*)?(?P<art_n>{_NUM})\s*条(?:\s*之\s*(?P<art_s>[{SMALL_NUMERAL_CHARS}]+))?)"
    rf"|(?P<para>第\s*(?P<para_n>{_NUM})\s*款)"
    rf"|(?P<item>第\s*[（(]?\s*(?P<item_n>{_NUM})\s*[）)]?\s*项|[（(]\s*(?P<item_p>{_NUM})\s*[）)]\s*项?)"
    rf"|(?P<prepara>前(?P<prepara_n>[{SMALL_NUMERAL_CHARS}两]*)款|本条)"
    rf"|(?P<num>(?P<num_di>第\s*)?(?P<num_n>{_NUM}))"
    r"|(?P<range>至|到|[-–—~～－])"
    r"|(?P<list>以及|或者|、|,|，|和|及|与|或)"
    r"|(?P<space>\s+)"
)
#: Cheap gate: a text without any of these has no reference at all.
_GATE_RE = re.compile(rf"第\s*[（(]?\s*{_NUM}|{_NUM}\s*条|前[{SMALL_NUMERAL_CHARS}两]*款")

_RELATIVE_RE = re.compile(r"(本法典?|本(?:实施)?(?:条例|规定|办法|细则|解释|决定|规则|准则|通则|规程|章程)|本编|本章)$")
#: Structure words allowed between a law name and the article (刑法分则第九章第三百九十八条).
_STRUCTURE_TAIL_RE = re.compile(
    rf"(?:\s*(?:总则|分则|附则|第\s*[{NUMERAL_CHARS}]+\s*[编章节]|[（(]以下简称[^（）()]{{1,30}}[）)]))+\s*$"
)
_ANAPHOR_RE = re.compile(r"(该法|该条例|同法|此法|上述法律)$")
#: A name in book-title marks at the end of a text; the outer marks may nest 〈…〉
#: (《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》), a bare 〈…〉 is the inner name.
_BOOK_RE = re.compile(r"《((?:[^《》〈〉]|〈[^《》〈〉]*〉){1,100})》$|〈([^《》〈〉]{1,80})〉$")
#: Words that end a law name when scanning left from an article (请问数据安全法…).
_BOUNDARY_WORDS = (
    "请问", "查询", "查一下", "查看", "看一下", "看看", "根据", "依据", "依照", "按照", "参照", "对照",
    "违反", "适用", "关于", "比较", "对比", "以及", "还有", "我国", "现行", "新修订", "修订后", "修改后",
    "帮我", "我想", "想知道", "对于", "不履行", "未履行", "符合", "不符合", "审理", "主张", "是指",
    "属于", "涉及", "引用", "援引", "规定", "或者", "除外", "解读", "理解", "解释", "修改", "介绍", "说明",
    "分析", "总结", "概括", "阅读", "学习", "翻译", "列出", "显示", "背诵", "告诉我", "讲讲", "说说",
)
#: Characters that end a name when scanning left (punctuation and a few connectives).
_BOUNDARY_CHARS = set("和及与或、的，,。；;：:！？!?（）() \t\n“”\"'")
#: Function characters allowed right before a *known* name (在数据安全法中, 按数安法…);
#: anything else glued in front (网络|数据安全法) makes the whole run an unknown name.
_FUNCTION_CHARS = set("在对按依据由从向把将即是了于请查看问被用以照为给让同跟比有除如")
_LAWLIKE_END_RE = re.compile(r"(法|法典|条例|规定|办法|细则|解释|决定|规则|准则|通则)$")
_CLAUSE_END = set("。；;！？!?\n")
#: How far a named law carries to later references without a name (see parse_article_refs).
CARRY_MODES = ("text", "sentence", "none")


@dataclass
class _Tok:
    kind: str
    start: int
    end: int
    n: int = 0
    suffix: int = 0
    has_di: bool = False
    text: str = ""


_SEGMENT_END_RE = re.compile(r"[。；;！？!?\n]")


def _segments(text: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of a text that may hold a reference; a reference
    never spans 。；！？ or a line break, so the rest need not be tokenised."""
    spans = []
    start = 0
    for m in _SEGMENT_END_RE.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a and _GATE_RE.search(text, a, b)]


def _tokens(text: str) -> list[_Tok]:
    """Reference tokens of a text; every stretch of other characters becomes one `other`
    token (it only matters that something else stands between two tokens)."""
    toks: list[_Tok] = []
    pos = 0
    matches = (m for a, b in _segments(text) for m in _TOKEN_RE.finditer(text, a, b))
    for m in matches:
        if m.start() > pos:
            toks.append(_Tok("other", pos, m.start(), text=text[pos : m.start()]))
        pos = m.end()
        kind = m.lastgroup  # the outer group: it closes last
        if kind == "space":
            continue
        tok = _Tok(kind, m.start(), m.end(), text=m.group(0))
        try:
            if kind == "art":
                tok.n = chinese_to_int(m.group("art_n"))
                tok.suffix = chinese_to_int(m.group("art_s")) if m.group("art_s") else 0
                tok.has_di = bool(m.group("art_di"))
            elif kind == "para":
                tok.n = chinese_to_int(m.group("para_n"))
            elif kind == "item":
                tok.n = chinese_to_int(m.group("item_n") or m.group("item_p"))
            elif kind == "prepara":
                tok.n = chinese_to_int(m.group("prepara_n")) if m.group("prepara_n") else (0 if m.group(0) == "本条" else 1)
            elif kind == "num":
                tok.n = chinese_to_int(m.group("num_n"))
                tok.has_di = bool(m.group("num_di"))
        except ValueError:
            tok = _Tok("other", m.start(), m.end(), text=m.group(0))
        toks.append(tok)
    if pos < len(text):
        toks.append(_Tok("other", pos, len(text), text=text[pos:]))
    return toks


@dataclass
class _Element:
    """One member of a reference cluster before expansion."""

    kind: str  # art | num | para
    start: int
    end: int
    n: int = 0
    suffix: int = 0
    paragraph: int | None = None
    item: int | None = None


@dataclass
class _Cluster:
    start: int
    end: int
    elements: list[_Element]
    connectors: list[str]  # between elements: list | range


def _parse_cluster(toks: list[_Tok], i: int, allow_bare_start: bool) -> tuple[_Cluster | None, int]:
    """Read `第A条第B款、第C条至第D条` … starting at toks[i]; returns (cluster, next index)."""
    elements: list[_Element] = []
    connectors: list[str] = []
    j = i
    while j < len(toks):
        tok = toks[j]
        element: _Element | None = None
        if tok.kind == "art" and (tok.has_di or elements or allow_bare_start):
            element = _Element("art", tok.start, tok.end, tok.n, tok.suffix)
            j += 1
            if j < len(toks) and toks[j].kind == "para" and toks[j].start == tok.end:
                element.paragraph = toks[j].n
                element.end = toks[j].end
                j += 1
            if j < len(toks) and toks[j].kind == "item" and toks[j].start == element.end:
                element.item = toks[j].n
                element.end = toks[j].end
                j += 1
        elif tok.kind == "num" and (tok.has_di or elements):
            element = _Element("num", tok.start, tok.end, tok.n)
            j += 1
        elif tok.kind == "para" and elements and elements[-1].kind in ("art", "para") and connectors:
            element = _Element("para", tok.start, tok.end, paragraph=tok.n)
            j += 1
            if j < len(toks) and toks[j].kind == "item" and toks[j].start == tok.end:
                element.item = toks[j].n
                element.end = toks[j].end
                j += 1
        if element is None:
            if elements and connectors and len(connectors) == len(elements):
                connectors.pop()  # a separator that led nowhere
                j -= 1
            break
        elements.append(element)
        if j + 1 < len(toks) and toks[j].kind in ("list", "range") and toks[j + 1].kind in ("art", "num", "para"):
            connectors.append(toks[j].kind)
            j += 1
            continue
        break
    # trailing numbers that never met a 条 are not references (第三人, 第一审 …)
    while elements and elements[-1].kind == "num":
        elements.pop()
        if connectors:
            connectors.pop()
    if not elements:
        return None, i + 1
    return _Cluster(elements[0].start, elements[-1].end, elements, connectors), j


def _expand(cluster: _Cluster, text: str) -> list[tuple[int, int, int | None, int | None, tuple[int, int], str]]:
    """Cluster → (number, suffix, paragraph, item, span, range_of) per referenced article."""
    out: list[tuple[int, int, int | None, int | None, tuple[int, int], str]] = []
    els, cons = cluster.elements, cluster.connectors
    pending: list[tuple[_Element, str]] = []  # bare numbers waiting for their 条
    last_art: _Element | None = None
    for index, el in enumerate(els):
        connector_before = cons[index - 1] if index > 0 else ""
        if el.kind == "num":
            pending.append((el, connector_before))
            continue
        if el.kind == "para":
            if last_art is not None:
                if connector_before == "range" and out and out[-1][2]:
                    low = out[-1][2]
                    for p in range(low + 1, el.paragraph + 1) if el.paragraph - low <= 20 else [el.paragraph]:
                        out.append((last_art.n, last_art.suffix, p, None, (el.start, el.end), ""))
                else:
                    out.append((last_art.n, last_art.suffix, el.paragraph, el.item, (el.start, el.end), ""))
            continue
        # an article element: first settle the numbers before it
        chain = pending + [(el, connector_before)]
        pending = []
        previous: _Element | None = last_art if chain[0][1] == "range" else None
        for member, connector in chain:
            if connector == "range" and previous is not None and member.n > previous.n and member.n - previous.n <= 300:
                written = text[previous.start : member.end]
                for n in range(previous.n + 1, member.n):
                    out.append((n, 0, None, None, (previous.start, member.end), written))
            suffix = member.suffix if member is el else 0
            para = member.paragraph if member is el else None
            item = member.item if member is el else None
            range_of = text[previous.start : member.end] if connector == "range" and previous is not None else ""
            out.append((member.n, suffix, para, item, (member.start, member.end), range_of))
            previous = member
        last_art = el
    return out


def _law_before(text: str, start: int, catalog: LawCatalog | None, strict: bool) -> tuple[str, str, tuple[int, int]]:
    """The law name written right before position `start`: (kind, name, span).

    kind: `book` (《…》 or 〈…〉), `relative` (本法, 本《规定》 …), `name` (a known name),
    `anaphor` (该法 …), `unknown` (looks like a law name but is not in the catalog) or
    `` (none). Structure words (分则第九章) and a defining bracket (（以下简称民事诉讼法）)
    between the name and the article are skipped. With `strict`, a known name with
    other characters glued in front (网络|数据安全法) is read as an unknown longer name
    rather than as the known one.
    """
    tail = _STRUCTURE_TAIL_RE.sub("", text[:start].rstrip())
    tail = re.sub(r"\s*的?\s*$", "", tail)
    end = len(tail)
    m = _BOOK_RE.search(tail)
    if m:
        if tail[: m.start()].endswith("本"):
            return "relative", "本" + m.group(0), (m.start() - 1, end)
        return "book", m.group(1) or m.group(2), (m.start(), end)
    m = _RELATIVE_RE.search(tail)
    if m:
        return "relative", m.group(1), (m.start(1), end)
    if catalog is not None:
        known = catalog.longest_name_suffix(tail)
        if known:
            before = tail[: end - len(known)]
            if not strict or _at_boundary(before):
                return "name", known, (end - len(known), end)
    m = _ANAPHOR_RE.search(tail)
    if m and _at_boundary(tail[: m.start(1)]):
        return "anaphor", m.group(1), (m.start(1), end)
    # a run of CJK characters ending like a law name, cut at the last boundary word
    run_start = end
    while run_start > 0 and ("\u4e00" <= tail[run_start - 1] <= "\u9fff" or tail[run_start - 1] in "（）()") and end - run_start < 40:
        run_start -= 1
    run = tail[run_start:end]
    cut = _last_boundary(run)
    candidate = run[cut:]
    if len(candidate) >= 3 and _LAWLIKE_END_RE.search(candidate) and not _RELATIVE_RE.search(candidate):
        return "unknown", candidate, (run_start + cut, end)
    return "", "", (-1, -1)


def _at_boundary(before: str) -> bool:
    """True when a name ending here starts a law name (nothing name-like glued in front)."""
    if not before:
        return True
    if before[-1] in _BOUNDARY_CHARS or before[-1] in _FUNCTION_CHARS or not ("\u4e00" <= before[-1] <= "\u9fff"):
        return True
    return any(before.endswith(word) for word in _BOUNDARY_WORDS)


def _last_boundary(run: str) -> int:
    """Index just after the last boundary word/char in `run` (0 if none)."""
    best = 0
    for word in _BOUNDARY_WORDS:
        k = run.rfind(word)
        if k >= 0:
            best = max(best, k + len(word))
    for k, ch in enumerate(run):
        if ch in _BOUNDARY_CHARS:
            best = max(best, k + 1)
    return best


@dataclass(frozen=True)
class _LawContext:
    """The law a reference belongs to, once its name has been looked at."""

    law_text: str = ""
    law: str | None = None
    law_ids: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    span: tuple[int, int] = (-1, -1)
    relative: bool = False
    inherited: bool = False
    note: str = ""


def _resolve_context(kind: str, name: str, span: tuple[int, int], catalog: LawCatalog | None,
                     context_law: str | None, last: _LawContext | None) -> _LawContext:
    if kind == "relative":
        if context_law is None:
            return _LawContext(law_text=name, span=span, relative=True, note=f"“{name}”无上下文法律，无法确定所指")
        resolution = catalog.resolve(context_law) if catalog is not None else None
        ids = resolution.law_ids[:1] if resolution and resolution.found else ()
        return _LawContext(law_text=name, law=context_law, law_ids=ids, span=span, relative=True)
    if kind == "anaphor":
        if last is None or not (last.law or last.candidates):
            return _LawContext(law_text=name, span=span, relative=True, note=f"“{name}”之前未提到法律")
        return _LawContext(law_text=name, law=last.law, law_ids=last.law_ids, candidates=last.candidates,
                           span=span, relative=last.relative, inherited=True)
    if catalog is None:
        return _LawContext(law_text=name, span=span)
    resolution = catalog.resolve(name)
    if not resolution.found:
        return _LawContext(law_text=name, span=span, note=resolution.note)
    if resolution.ambiguous:
        titles = tuple(catalog.entry(i).title for i in resolution.law_ids)
        return _LawContext(law_text=name, law_ids=resolution.law_ids, candidates=titles, span=span, note=resolution.note)
    return _LawContext(law_text=name, law=catalog.entry(resolution.law_ids[0]).title,
                       law_ids=resolution.law_ids, span=span)


def parse_article_refs(
    text: str,
    catalog: LawCatalog | None = None,
    *,
    context_law: str | None = None,
    carry: str = "text",
    strict_names: bool = True,
) -> list[ArticleRef]:
    """Every article reference in `text`, in order of appearance.

    The law of a reference is the name written right before it (book-title marks,
    a known name or short name, `本法`-style words → `context_law`, `该法` → the law
    named last). Without a name, members of the same list share the law of the
    first; beyond that `carry` decides: `text` (questions: `数安法第45条和第46条呢`)
    keeps the last named law for the rest of the text, `sentence` (statute text)
    keeps it to the end of the sentence (。；！？ or a line break) and otherwise falls
    back to `context_law` — the way statutes write `依照第一百二十条的规定` — and
    `none` always falls back. `strict_names` (for questions) refuses to read
    `网络数据安全法` as 数据安全法: a law that does not exist must be reported, not
    replaced; statute text (`strict_names=False`) only cites real laws, so there a
    known name is taken even when a verb is glued to it (`符合民法典`). Without a
    catalog, names are reported as written and `law` stays None.
    """
    if carry not in CARRY_MODES:
        raise ValueError(f"unknown carry mode {carry!r} (use one of {', '.join(CARRY_MODES)})")
    if not _GATE_RE.search(text):
        return []
    toks = _tokens(text)
    refs: list[ArticleRef] = []
    last: _LawContext | None = None
    last_end = 0
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok.kind not in ("art", "num"):
            i += 1
            continue
        kind, name, span = _law_before(text, tok.start, catalog, strict_names)
        cluster, nxt = _parse_cluster(toks, i, allow_bare_start=bool(kind))
        if cluster is None:
            i = nxt
            continue
        if last is not None and carry == "sentence" and any(c in _CLAUSE_END for c in text[last_end:tok.start]):
            last = None
        if kind:
            law = _resolve_context(kind, name, span, catalog, context_law, last)
        elif carry != "none" and last is not None:
            law = _LawContext(law_text=last.law_text, law=last.law, law_ids=last.law_ids,
                              candidates=last.candidates, relative=last.relative, inherited=True)
        elif context_law is not None:
            law = _resolve_context("relative", "", (-1, -1), catalog, context_law, last)
            law = _LawContext(law=law.law, law_ids=law.law_ids, relative=True, inherited=True)
        else:
            law = _LawContext()
        for n, suffix, para, item, el_span, range_of in _expand(cluster, text):
            if n < 1:
                continue
            refs.append(ArticleRef(
                law_text=law.law_text, law=law.law, article=article_label(n, suffix),
                paragraph=para, item=item, span=el_span, law_span=law.span, law_ids=law.law_ids,
                candidates=law.candidates, relative=law.relative, inherited=law.inherited,
                range_of=range_of, note=law.note,
            ))
        if kind or law.law_text:
            last = law
            last_end = cluster.end
        i = max(nxt, i + 1)
    return refs


# ------------------------------------------------------------------ lookup


@dataclass(frozen=True)
class VersionHit:
    """The same article in a superseded version (history), or its absence there."""

    doc_id: str
    title: str
    version_date: str
    status: str
    unit: Unit | None
    same_text: bool = False
    repealed_by: str = ""  # the version of a repealed instrument: the article that repealed it


@dataclass
class ArticleMatch:
    """The answer to one reference. `status`:

    * `found` — `unit` is the article in the current version (`selected_text` the 款 /
      项 asked for, else the whole article);
    * `law_not_found` — no law by that name (`suggestions` holds near titles);
    * `article_not_found` — the law exists, the article does not (`article_count`);
    * `paragraph_not_found` — the article exists but has fewer 款 / 项;
    * `no_law` — the reference names no law and there is no context.

    An ambiguous name yields one match per candidate law, each with `note` saying so.
    """

    ref: ArticleRef
    status: str
    message: str = ""
    law_id: str = ""
    law: str = ""
    doc: Document | None = None
    unit: Unit | None = None
    selected_text: str = ""
    paragraphs: list[str] = field(default_factory=list)
    history: list[VersionHit] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    article_count: int = 0
    note: str = ""
    versions: list[Document] = field(default_factory=list)  # all versions of the law, current first

    @property
    def found(self) -> bool:
        return self.status == "found"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref.to_dict(),
            "label": self.ref.label,
            "status": self.status,
            "message": self.message,
            "law_id": self.law_id,
            "law": self.law,
            "doc_id": self.doc.doc_id if self.doc else "",
            "version_date": self.doc.version_date if self.doc else "",
            "repealed_by": self.doc.repealed_by if self.doc else "",
            "unit_id": self.unit.unit_id if self.unit else "",
            "article": self.unit.number if self.unit else "",
            "text": self.unit.text if self.unit else "",
            "selected_text": self.selected_text,
            "history": [
                {"doc_id": h.doc_id, "title": h.title, "version_date": h.version_date, "status": h.status,
                 "repealed_by": h.repealed_by, "unit_id": h.unit.unit_id if h.unit else "", "text": h.unit.text if h.unit else "",
                 "same_text": h.same_text}
                for h in self.history
            ],
            "suggestions": list(self.suggestions),
            "article_count": self.article_count,
            "note": self.note,
        }


@dataclass
class LookupResult:
    """All references of a question and what each resolved to."""

    question: str
    refs: list[ArticleRef]
    matches: list[ArticleMatch]
    is_lookup: bool

    @property
    def found(self) -> list[ArticleMatch]:
        return [m for m in self.matches if m.found]

    @property
    def messages(self) -> list[str]:
        return [m.message for m in self.matches if not m.found and m.message]

    def evidence(self, with_history: bool = True) -> list[Evidence]:
        """Found articles as `Evidence` (origin `lookup`), superseded texts after them (`history`).

        Order is the order of the references; an article asked twice appears once.
        """
        out: list[Evidence] = []
        seen: set[str] = set()
        for match in self.found:
            if match.unit.unit_id not in seen:
                seen.add(match.unit.unit_id)
                out.append(unit_evidence(match.doc, match.unit, origin="lookup", rank=len(out) + 1))
        if with_history:
            for match in self.found:
                for hit in match.history:
                    if hit.unit is not None and hit.unit.unit_id not in seen:
                        seen.add(hit.unit.unit_id)
                        out.append(unit_evidence(_history_doc(match, hit), hit.unit, origin="history", rank=len(out) + 1))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The `lookup` object of `fagui ask --json`."""
        return {
            "is_lookup": self.is_lookup,
            "matches": [m.to_dict() for m in self.matches],
            "messages": self.messages,
        }


def _history_doc(match: ArticleMatch, hit: VersionHit) -> Document:
    return next(d for d in match.versions if d.doc_id == hit.doc_id)


def unit_evidence(doc: Document, unit: Unit, *, origin: str, rank: int = 0) -> Evidence:
    """A unit of a document as `Evidence` (one construction for the whole answer layer)."""
    return evidence_from_unit(doc, unit, rank=rank, origin=origin)


_ITEM_LINE_RE = re.compile(rf"^\s*[（(][{SMALL_NUMERAL_CHARS}]+[）)]")


def article_paragraphs(text: str) -> list[str]:
    """The 款 of an article: lines of the text, with enumerated items `（一）…` kept
    inside the paragraph that introduces them (they are 项, not 款)."""
    paragraphs: list[str] = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        if paragraphs and _ITEM_LINE_RE.match(line):
            paragraphs[-1] += "\n" + line
        else:
            paragraphs.append(line)
    return paragraphs


def paragraph_items(paragraph: str) -> list[str]:
    """The 项 of a paragraph (its `（一）…` lines), in order."""
    return [line for line in paragraph.split("\n") if _ITEM_LINE_RE.match(line)]


def _same_text(a: str, b: str) -> bool:
    squash = lambda s: re.sub(r"[\s，。；：、,.;:]", "", unicodedata.normalize("NFKC", s))  # noqa: E731
    return squash(a) == squash(b)


def resolve_ref(ref: ArticleRef, catalog: LawCatalog) -> list[ArticleMatch]:
    """One reference → one match per law it may denote (one, or each tied candidate)."""
    if not ref.law_ids:
        if ref.law_text and not ref.relative:
            suggestions = catalog.suggest(ref.law_text)
            near = "；相近的法规：" + "、".join(f"《{s}》" for s in suggestions) if suggestions else ""
            message = ref.note or f"未找到名为“{ref.law_text}”的法律法规"
            return [ArticleMatch(ref=ref, status="law_not_found", message=message + near, suggestions=suggestions)]
        return [ArticleMatch(ref=ref, status="no_law", message=ref.note or f"{ref.label}未指明所属法律")]
    return [_match_in_law(ref, law_id, catalog) for law_id in ref.law_ids]


def _match_in_law(ref: ArticleRef, law_id: str, catalog: LawCatalog) -> ArticleMatch:
    entry = catalog.entry(law_id)
    doc = entry.current
    note = ref.note if len(ref.law_ids) > 1 else ""
    articles = catalog.articles_of(doc)
    history = []
    for old, old_unit in catalog.versions.history(doc, ref.article):
        history.append(VersionHit(
            doc_id=old.doc_id, title=old.title, version_date=old.version_date, status=old.status,
            repealed_by=old.repealed_by, unit=old_unit,
            same_text=bool(old_unit and articles.get(ref.article) and _same_text(old_unit.text, articles[ref.article].text)),
        ))
    match = ArticleMatch(ref=ref, status="found", law_id=law_id, law=doc.title, doc=doc, history=history,
                         article_count=len(articles), note=note, versions=list(entry.versions))
    unit = articles.get(ref.article)
    if unit is None:
        match.status = "article_not_found"
        if not articles:
            match.message = f"《{doc.title}》不是按条编排的文件，没有{ref.article}"
        else:
            last = max(articles, key=lambda label: parse_article_label(label))
            match.message = f"《{doc.title}》没有{ref.article}：该法共{len(articles)}条（第一条至{last}）"
        older = [h for h in history if h.unit is not None]
        if older:
            match.message += "；旧版本中有此条：" + "、".join(f"{h.version_date or '日期不详'}版" for h in older)
        return match
    match.unit = unit
    match.paragraphs = article_paragraphs(unit.text)
    match.selected_text = unit.text
    if ref.paragraph:
        if ref.paragraph > len(match.paragraphs):
            match.status = "paragraph_not_found"
            match.message = f"《{doc.title}》{ref.article}只有{len(match.paragraphs)}款，没有第{_cn(ref.paragraph)}款"
            return match
        match.selected_text = match.paragraphs[ref.paragraph - 1]
    if ref.item:
        scope = match.selected_text if ref.paragraph else unit.text
        items = paragraph_items(scope)
        if ref.item > len(items):
            match.status = "paragraph_not_found"
            match.message = f"《{doc.title}》{ref.label.split('第（')[0]}没有第（{_cn(ref.item)}）项"
            return match
        match.selected_text = items[ref.item - 1]
    return match


#: Words that ask for the text itself; what remains after removing them and the
#: references decides whether a question is a pure lookup.
_LOOKUP_FILLER_RE = re.compile(
    r"请问|请|帮我|给我|我想|想|知道|查询|查一下|查找|查看|查|搜索|找|看一下|看看|看|显示|列出|背诵|"
    r"原文|全文|条文|法条|内容|具体|规定|写的|怎么|如何|说了|讲了|说的|讲的|说|讲|什么|啥|是|"
    r"哪些|了|的|吗|呢|吧|一下|下|及|和|与|以及|、|中|里|里面|条款|我国|现行|最新"
)


def is_lookup_question(question: str, refs: list[ArticleRef] | None = None, catalog: LawCatalog | None = None) -> bool:
    """True when the question is essentially just references (`数安法第45条是什么？`).

    A question that merely mentions an article (`违反数安法第二十七条要罚多少钱`) is
    not; its references are still resolved by `lookup`. Decided by removing the
    references, the law names and filler words (`请问`, `内容`, `是什么` …) and
    checking that no more than two characters of content remain.
    """
    refs = parse_article_refs(question, catalog) if refs is None else refs
    if not refs:
        return False
    chars = list(question)
    for ref in refs:
        for start, end in (ref.span, ref.law_span):
            if start >= 0:
                for k in range(start, min(end, len(chars))):
                    chars[k] = " "
    rest = "".join(chars)
    rest = re.sub(r"[《》〈〉]", " ", rest)
    rest = re.sub(r"第\s*[" + NUMERAL_CHARS + r"]+\s*(条|款|项)", " ", rest)
    rest = re.sub(r"至|到|[-–—~～－]", " ", rest)
    rest = _LOOKUP_FILLER_RE.sub(" ", rest)
    content = re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", rest)
    return len(content) <= 2


def lookup(question: str, catalog: LawCatalog, *, context_law: str | None = None) -> LookupResult:
    """Resolve every article a question names; deterministic, no similarity search.

    Returns a `LookupResult` whose matches follow the references' order. A name or
    number that does not exist yields a match with status and message saying so —
    never a nearby article.
    """
    refs = parse_article_refs(question, catalog, context_law=context_law)
    matches: list[ArticleMatch] = []
    for ref in refs:
        matches.extend(resolve_ref(ref, catalog))
    return LookupResult(question=question, refs=refs, matches=matches, is_lookup=is_lookup_question(question, refs))
