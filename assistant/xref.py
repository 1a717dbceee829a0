"""Cross-references between articles, and duty ↔ liability pairs.

Statutes point at each other: `违反本法第二十七条、第二十九条规定的`, `依照本法第六十四条的规定处罚`,
`依照《中华人民共和国网络安全法》第二十一条`, `前款规定`. A liability question needs both ends —
the article that imposes the duty and the article that sanctions its breach — and they
are rarely similar enough for a retriever to find together. `CrossRefIndex.build`
reads every article once (`assistant.lookup.parse_article_refs` with the article's own
law as context) and keeps, per unit:

* outgoing `Reference`s — `article` (same law, resolved in the *same version* of the
  law), `external` (another law, resolved in the version in force when the citing
  text was adopted — `LawEntry.version_at`; `target_version` says which), `paragraph` (款
  inside the citing article: `前款`, `第一款`, `本条第二款` — represented, never linked),
  `law` (a whole law in book-title marks without an article number); unresolved ones
  keep a `reason`;
* incoming references (who cites this unit).

Duty ↔ liability pairing, deliberately limited to what the text states:

* **explicit** — a liability article (in a 法律责任 / 罚则 chapter, or with sanction
  wording such as 给予处分, 处…罚款, 依法承担…责任, 依法追究刑事责任, 责令改正) that cites an
  article as the breached rule (`违反 / 不履行 / 未履行 / 未依照 / 不按照 … 本法第X条 … 规定`,
  with no 依照 / 按照 between the trigger and the number — `依照本法第X条处罚` cites a
  penalty, not a duty — or `有本法第X条规定的…行为`) is paired with that article,
  unless the cited article itself sits in a liability chapter;
* **general** — a liability article that sanctions breaches of the law as a whole
  (`违反本法规定`, `未履行本法规定的…义务`, `有本法规定的违法行为`) is paired with every
  duty-bearing article (应当 / 不得 / 必须 / 禁止 / 严禁) of the same document outside its
  liability and supplementary chapters; these pairs are marked `general`.

Liability articles that name neither numbers nor the whole law (`个人信息处理者未按照规定
…`) are *not* paired by subject or keywords: that would be a guess, and the answer
layer prefers no basis to a wrong one.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from assistant.lookup import ArticleRef, LawCatalog, article_paragraphs, parse_article_refs, unit_evidence
from assistant.records import Evidence
from corpus.numerals import NUMERAL_CHARS, SMALL_NUMERAL_CHARS, chinese_to_int
from corpus.records import Document, Unit

REFERENCE_KINDS = ("article", "external", "paragraph", "law")

#: Chapter headings of liability provisions.
LIABILITY_CHAPTER_RE = re.compile(r"法律责任|罚则")
#: Sanction wording that marks a liability article outside such a chapter.
LIABILITY_TEXT_RE = re.compile(
    r"给予[^，。；]{0,12}处分|处[^，。；]{0,40}罚款|依法承担[^，。；]{0,12}责任|依法追究刑事责任|责令改正"
)
#: Words that introduce the breached rule, and words that introduce a penalty rule.
_VIOLATION_RE = re.compile(r"违反|不履行|未履行|未依照|不依照|未按照?|不按照?|未遵守|不遵守|拒不执行|不执行|未执行")
_APPLY_RE = re.compile(r"依照|按照|依据|根据|参照|适用|比照")
_CLAUSE_BREAK_RE = re.compile(r"[，,。；;：:\n]")
#: Breach of the law as a whole.
GENERAL_LIABILITY_RE = re.compile(
    r"(?:违反|未履行|不履行|未依照|不依照|未按照|不按照)本(?:法|条例|规定|办法|细则)(?:的)?(?:有关)?规定"
    r"|有本(?:法|条例|规定|办法|细则)规定的[^，。；]{0,8}违法行为"
)
#: An article that imposes a duty.
DUTY_TEXT_RE = re.compile(r"应当|不得|必须|禁止|严禁")
_SUPPLEMENTARY_CHAPTER_RE = re.compile(r"附\s*则")

_PARAGRAPH_RE = re.compile(
    rf"(?P<this>本条)?第(?P<n>[{NUMERAL_CHARS}]+)款|前(?P<prev>[{SMALL_NUMERAL_CHARS}两]*)款"
)
_BOOK_ONLY_RE = re.compile(
    r"《([^《》]{2,80}(?:法|法典|条例|规定|办法|细则|解释|决定|规则|准则|通则))》(?!\s*(?:的)?\s*第)"
)


@dataclass(frozen=True)
class Reference:
    """One reference from an article (`source`) to another unit, a 款, or a law.

    `target` is the unit id when resolved ('' otherwise, with `reason`); `target_doc`
    the document it lies in. `violation` marks a reference that names the breached
    rule (`违反本法第X条规定`). `paragraphs` of a `paragraph` reference are the 款
    numbers inside the citing article (`前两款` of the third 款 → (1, 2)).
    """

    source: str
    kind: str
    text: str
    span: tuple[int, int]
    law: str = ""
    law_text: str = ""
    article: str = ""
    paragraph: int | None = None
    item: int | None = None
    target: str = ""
    target_doc: str = ""
    target_version: str = ""  # version_date of the target document
    reason: str = ""
    violation: bool = False
    paragraphs: tuple[int, ...] = ()

    @property
    def resolved(self) -> bool:
        return bool(self.target) if self.kind in ("article", "external") else bool(self.target_doc)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "kind": self.kind, "text": self.text, "span": list(self.span),
            "law": self.law, "law_text": self.law_text, "article": self.article,
            "paragraph": self.paragraph, "item": self.item, "target": self.target,
            "target_doc": self.target_doc, "target_version": self.target_version, "reason": self.reason, "violation": self.violation,
            "paragraphs": list(self.paragraphs),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Reference":
        return cls(**{**data, "span": tuple(data["span"]), "paragraphs": tuple(data.get("paragraphs", ()))})


@dataclass(frozen=True)
class LiabilityLink:
    """A duty article and an article that sanctions its breach.

    `kind` is `explicit` (the liability article cites the duty's number) or `general`
    (it sanctions breaches of the whole law); `basis` is the wording that justifies it.
    """

    duty: str
    liability: str
    kind: str
    basis: str


@dataclass
class CrossRefStats:
    articles: int = 0
    references: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    resolved: int = 0
    unresolved: int = 0
    liability_articles: int = 0
    explicit_pairs: int = 0
    general_liability_articles: int = 0
    general_pairs: int = 0
    build_seconds: float = 0.0
    from_cache: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def is_liability_article(unit: Unit) -> bool:
    """A 法律责任 / 罚则 chapter article, or one with sanction wording (see module docstring)."""
    if any(LIABILITY_CHAPTER_RE.search(heading) for heading in unit.path):
        return True
    return bool(LIABILITY_TEXT_RE.search(unit.text))


def _in_liability_chapter(unit: Unit) -> bool:
    return any(LIABILITY_CHAPTER_RE.search(heading) for heading in unit.path)


def is_duty_article(unit: Unit) -> bool:
    """Duty-bearing wording outside the liability and supplementary chapters."""
    if _in_liability_chapter(unit) or any(_SUPPLEMENTARY_CHAPTER_RE.search(h) for h in unit.path):
        return False
    return bool(DUTY_TEXT_RE.search(unit.text))


@dataclass(frozen=True)
class ArticleKind:
    """What the liability pairing needs to know of an article: liability-bearing, its
    whole-law sanction wording (`general`, "" when none) and duty-bearing. Computed by
    regular expressions over every article (0.2 s per start of `default`), so the
    reference cache keeps it too."""

    liability: bool = False
    general: str = ""
    duty: bool = False


def article_kind(unit: Unit) -> ArticleKind:
    """The ArticleKind of an article (see is_liability_article, GENERAL_LIABILITY_RE, is_duty_article)."""
    liability = is_liability_article(unit)
    general = GENERAL_LIABILITY_RE.search(unit.text) if liability else None
    return ArticleKind(liability, general.group(0) if general else "", is_duty_article(unit))


def _is_violation(text: str, start: int, end: int) -> bool:
    """Is the reference at text[start:end] cited as the breached rule?

    Yes when its clause names a breach before it (违反 / 不履行 / 未依照 …) with no
    依照 / 按照 / 根据 after that word — `违反本法规定，依照本法第X条处罚` cites a penalty —
    or when it reads `有本法第X条规定的（违法）行为` / `有本法第十六条所列行为`
    (`有本法第十七条规定情形` names grounds, not conduct, and is not a breach).
    """
    clause_start = 0
    for m in _CLAUSE_BREAK_RE.finditer(text, 0, start):
        clause_start = m.end()
    prefix = text[clause_start:start]
    last_violation = max((m.end() for m in _VIOLATION_RE.finditer(prefix)), default=-1)
    last_apply = max((m.end() for m in _APPLY_RE.finditer(prefix)), default=-1)
    if last_violation >= 0 and last_violation >= last_apply:  # 未依照 ends where its 依照 ends
        return True
    if prefix.endswith("有"):
        rest = _CLAUSE_BREAK_RE.split(text[end:], maxsplit=1)[0]
        return "行为" in rest
    return False


def _paragraph_refs(unit: Unit) -> list[Reference]:
    """`前款`, `前两款`, `第一款`, `本条第二款` — 款 of the citing article itself."""
    refs: list[Reference] = []
    text = unit.text
    if "款" not in text:
        return refs
    starts = []  # start offsets of the 款 (item lines belong to their paragraph)
    offset = 0
    for para in article_paragraphs(text):
        found = text.find(para, offset)
        starts.append(found)
        offset = found + len(para)
    for m in _PARAGRAPH_RE.finditer(text):
        if m.group("n") is not None and m.start() > 0 and text[m.start() - 1] == "条" and not m.group("this"):
            continue  # 第X条第Y款 belongs to an article reference
        current = sum(1 for s in starts if s <= m.start()) or 1
        try:
            if m.group("n") is not None:
                numbers: tuple[int, ...] = (chinese_to_int(m.group("n")),)
            else:
                count = chinese_to_int(m.group("prev")) if m.group("prev") else 1
                numbers = tuple(range(max(current - count, 1), current))
        except ValueError:
            continue
        refs.append(Reference(source=unit.unit_id, kind="paragraph", text=m.group(0), span=(m.start(), m.end()),
                              paragraphs=numbers))
    return refs


class CrossRefIndex:
    """Outgoing and incoming references of every article, and duty ↔ liability pairs."""

    def __init__(self, catalog: LawCatalog):
        self.catalog = catalog
        self._outgoing: dict[str, list[Reference]] = {}
        self._incoming: dict[str, list[Reference]] = {}
        self._units: dict[str, Unit] = {}
        self._doc_of: dict[str, Document] = {}
        self._liability: set[str] = set()
        self._explicit_liability: dict[str, list[LiabilityLink]] = {}  # duty → links
        self._explicit_duties: dict[str, list[LiabilityLink]] = {}  # liability → links
        self._general_by_doc: dict[str, list[tuple[str, str]]] = {}  # doc_id → [(liability unit, basis)]
        self._duty_units: set[str] = set()
        self._order: dict[str, tuple[str, int]] = {}  # unit_id → (doc_id, position): input-order free
        self.stats = CrossRefStats()

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, documents: Iterable[Document], catalog: LawCatalog | None = None,
              cache: Path | None = None) -> "CrossRefIndex":
        """Read every article of every non-duplicate document; deterministic.

        Parsing the references is the slow part (~3 s for the national collection, on
        every start of the app). With `cache` (a JSON file; the caller puts the
        collection's and this code's fingerprint in its name) the parsed references are
        read from there when it exists and written there when it does not; everything
        else is recomputed, so the result is the same either way."""
        started = time.perf_counter()
        documents = [d for d in documents if d.status != "duplicate"]
        index = cls(catalog or LawCatalog(documents))
        cached = _read_reference_cache(cache) if cache is not None else None
        for doc in documents:  # first every unit, so references can look at their targets
            for position, unit in enumerate(doc.articles()):
                index._units[unit.unit_id] = unit
                index._doc_of[unit.unit_id] = doc
                index._order[unit.unit_id] = (doc.doc_id, position)
        for doc in documents:
            for unit in doc.articles():
                if cached is None:
                    index._add_article(doc, unit)
                else:
                    refs = [Reference.from_dict(r) for r in cached.refs.get(unit.unit_id, ())]
                    index._add_article(doc, unit, refs, cached.kind_of(unit.unit_id))
        index._sort_links()
        index._pair_general()
        if cache is not None and cached is None:
            _write_reference_cache(cache, index)
        index.stats.from_cache = cached is not None
        index.stats.build_seconds = round(time.perf_counter() - started, 3)
        return index

    def _add_article(self, doc: Document, unit: Unit, refs: list[Reference] | None = None,
                     kind: ArticleKind | None = None) -> None:
        """Record one article; `refs` and `kind` come from the cache when it has them."""
        self.stats.articles += 1
        kind = kind if kind is not None else article_kind(unit)
        liable = kind.liability
        if liable:
            self._liability.add(unit.unit_id)
            self.stats.liability_articles += 1
            if kind.general:
                self._general_by_doc.setdefault(doc.doc_id, []).append((unit.unit_id, kind.general))
                self.stats.general_liability_articles += 1
        if kind.duty:
            self._duty_units.add(unit.unit_id)
        if refs is None:
            refs = self._article_refs(doc, unit) + _paragraph_refs(unit) + self._law_refs(doc, unit)
            refs.sort(key=lambda r: r.span[0])  # stable: a list keeps its written order
        self._outgoing[unit.unit_id] = refs
        for ref in refs:
            self.stats.references += 1
            self.stats.by_kind[ref.kind] = self.stats.by_kind.get(ref.kind, 0) + 1
            if ref.kind == "paragraph":
                continue
            if ref.resolved:
                self.stats.resolved += 1
            else:
                self.stats.unresolved += 1
            if ref.target:
                self._incoming.setdefault(ref.target, []).append(ref)
            if liable and ref.violation and ref.target:
                target_unit = self._units.get(ref.target)
                if target_unit is not None and _in_liability_chapter(target_unit):
                    continue  # 违反本法第六十四条 inside the liability chapter cites a penalty
                link = LiabilityLink(duty=ref.target, liability=unit.unit_id, kind="explicit", basis=ref.text)
                self._explicit_liability.setdefault(ref.target, []).append(link)
                self._explicit_duties.setdefault(unit.unit_id, []).append(link)
                self.stats.explicit_pairs += 1

    def _article_refs(self, doc: Document, unit: Unit) -> list[Reference]:
        own = self.catalog.resolve(doc.title)
        own_id = own.law_ids[0] if own.found and not own.ambiguous else ""
        out: list[Reference] = []
        for ref in parse_article_refs(unit.text, self.catalog, context_law=doc.title, carry="sentence", strict_names=False):
            out.append(self._resolve(doc, unit, ref, own_id))
        return out

    def _resolve(self, doc: Document, unit: Unit, ref: ArticleRef, own_id: str) -> Reference:
        start = ref.law_span[0] if ref.law_span[0] >= 0 else ref.span[0]
        written = (unit.text[ref.law_span[0] : ref.law_span[1]] if ref.law_span[0] >= 0 else "") + (
            unit.text[ref.span[0] : ref.span[1]] if not ref.range_of else ref.label)
        base = dict(source=unit.unit_id, text=written, span=ref.span, law_text=ref.law_text,
                    article=ref.article, paragraph=ref.paragraph, item=ref.item,
                    violation=_is_violation(unit.text, start, ref.span[1]))
        same_law = bool(own_id) and ref.law_ids == (own_id,)
        if same_law:
            target_doc = doc  # the citing version, not necessarily the current one
        elif ref.relative and not ref.law_ids:
            return Reference(kind="external", reason=ref.note or f"“{ref.law_text}”所指法律不明", **base)
        elif ref.candidates:
            return Reference(kind="external", law="", reason="法律名称有歧义：" + "、".join(ref.candidates), **base)
        elif not ref.law_ids:
            return Reference(kind="external", reason=f"本库中没有“{ref.law_text}”", **base)
        else:
            target_doc = self.catalog.entry(ref.law_ids[0]).version_at(doc.version_date)
        kind = "article" if same_law else "external"
        target = self.catalog.articles_of(target_doc).get(ref.article)
        if target is None:
            version = f"（{target_doc.version_date}版）" if target_doc.version_date else ""
            return Reference(kind=kind, law=target_doc.title, target_doc=target_doc.doc_id,
                             target_version=target_doc.version_date,
                             reason=f"《{target_doc.title}》{version}中没有{ref.article}", **base)
        if target.unit_id == unit.unit_id:
            # an article citing its own 款 by full number (本法第十条第二款 inside 第十条)
            paragraphs = (ref.paragraph,) if ref.paragraph else ()
            return Reference(source=unit.unit_id, kind="paragraph", text=written, span=base["span"],
                             paragraphs=paragraphs)
        return Reference(kind=kind, law=target_doc.title, target=target.unit_id, target_doc=target_doc.doc_id,
                         target_version=target_doc.version_date, **base)

    def _law_refs(self, doc: Document, unit: Unit) -> list[Reference]:
        """Whole laws named in book-title marks without an article number."""
        out: list[Reference] = []
        for m in _BOOK_ONLY_RE.finditer(unit.text):
            name = m.group(1)
            resolution = self.catalog.resolve(name)
            base = dict(source=unit.unit_id, kind="law", text=m.group(0), span=(m.start(), m.end()), law_text=name)
            if resolution.found and not resolution.ambiguous:
                target_doc = self.catalog.entry(resolution.law_ids[0]).version_at(doc.version_date)
                out.append(Reference(law=target_doc.title, target_doc=target_doc.doc_id,
                                     target_version=target_doc.version_date, **base))
            else:
                out.append(Reference(reason=resolution.note or "法律名称有歧义", **base))
        return out

    def _sort_links(self) -> None:
        """Incoming references and pairs by citing unit (doc id, position), then span —
        the same whatever order the documents came in."""
        for refs in self._incoming.values():
            refs.sort(key=lambda r: (self._order[r.source], r.span))
        for links in self._explicit_liability.values():
            links.sort(key=lambda link: self._order[link.liability])
        for doc_links in self._general_by_doc.values():
            doc_links.sort(key=lambda item: self._order[item[0]])

    def _pair_general(self) -> None:
        duties_by_doc: dict[str, list[str]] = {}
        for unit_id in self._units:  # insertion order: documents, then articles, in input order
            if unit_id in self._duty_units:
                duties_by_doc.setdefault(self._doc_of[unit_id].doc_id, []).append(unit_id)
        for doc_id, generals in self._general_by_doc.items():
            self.stats.general_pairs += len(generals) * len(duties_by_doc.get(doc_id, []))

    # ---------------------------------------------------------------- queries
    def outgoing(self, unit_id: str) -> list[Reference]:
        """Every reference the article makes (resolved, unresolved and 款 references), in text order."""
        return list(self._outgoing.get(unit_id, []))

    def links(self, unit_id: str) -> list[str]:
        """Resolved target unit ids of an article, in text order, without repeats."""
        seen: list[str] = []
        for ref in self._outgoing.get(unit_id, []):
            if ref.target and ref.target not in seen:
                seen.append(ref.target)
        return seen

    def unresolved(self, unit_id: str) -> list[Reference]:
        return [r for r in self._outgoing.get(unit_id, []) if r.kind != "paragraph" and not r.resolved]

    def incoming(self, unit_id: str) -> list[Reference]:
        """References that point at this unit, ordered by citing unit."""
        return list(self._incoming.get(unit_id, []))

    def is_liability(self, unit_id: str) -> bool:
        return unit_id in self._liability

    def liability_for(self, unit_id: str, *, include_general: bool = True) -> list[LiabilityLink]:
        """Articles that sanction a breach of this (duty) article: explicit ones first,
        then — if the law has them and the article bears a duty — law-wide ones."""
        links = list(self._explicit_liability.get(unit_id, []))
        if include_general and unit_id in self._duty_units:
            explicit = {link.liability for link in links}
            doc = self._doc_of[unit_id]
            for liability, basis in self._general_by_doc.get(doc.doc_id, []):
                if liability not in explicit:
                    links.append(LiabilityLink(duty=unit_id, liability=liability, kind="general", basis=basis))
        return links

    def duties_for(self, unit_id: str) -> list[LiabilityLink]:
        """Duty articles a liability article cites as breached (explicit references only;
        a law-wide clause is reported by `general_scope`, not as a list of every duty)."""
        return list(self._explicit_duties.get(unit_id, []))

    def general_scope(self, unit_id: str) -> str:
        """The law-wide breach wording of a liability article (`违反本法规定`), or ''."""
        doc = self._doc_of.get(unit_id)
        if doc is None:
            return ""
        return next((basis for uid, basis in self._general_by_doc.get(doc.doc_id, []) if uid == unit_id), "")

    def unit(self, unit_id: str) -> Unit:
        return self._units[unit_id]

    def document_of(self, unit_id: str) -> Document:
        return self._doc_of[unit_id]

    def evidence(self, unit_id: str, *, origin: str, rank: int = 0) -> Evidence:
        """A unit of the index as `Evidence` (origin `xref` or `liability-pair`)."""
        return unit_evidence(self._doc_of[unit_id], self._units[unit_id], origin=origin, rank=rank)


# ------------------------------------------------------------------ reference cache

CACHE_FORMAT = 2  # 2: the articles' kinds (ArticleKind) besides their references
#: Source files whose code decides what references are parsed and how they resolve.
_PARSING_MODULES = ("assistant/xref.py", "assistant/lookup.py", "corpus/numerals.py")


def parsing_fingerprint() -> str:
    """sha256 over the code that parses references: a code change invalidates the cache."""

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(f"format {CACHE_FORMAT}".encode())
    for name in _PARSING_MODULES:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class CachedParse:
    """What the reference cache holds: parsed references and the non-default ArticleKinds,
    both by unit id (an article missing from `kinds` is neither liability nor duty)."""

    refs: dict[str, list[dict]]
    kinds: dict[str, ArticleKind]

    def kind_of(self, unit_id: str) -> ArticleKind:
        return self.kinds.get(unit_id, _PLAIN_ARTICLE)


_PLAIN_ARTICLE = ArticleKind()


def _read_reference_cache(path: Path) -> CachedParse | None:
    """The cached parse, or None when absent, unreadable or of another format (then the
    build parses and rewrites it — a damaged cache costs time, never correctness)."""

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or not isinstance(data.get("refs"), dict)
            or not isinstance(data.get("kinds"), dict)):
        return None
    try:
        kinds = {unit_id: ArticleKind(**fields) for unit_id, fields in data["kinds"].items()}
    except TypeError:  # fields of another version of ArticleKind
        return None
    return CachedParse(data["refs"], kinds)


def _write_reference_cache(path: Path, index: "CrossRefIndex") -> None:
    """Atomic write (temp file + rename) of the index's parsed references and article
    kinds; failure to write only loses the speed-up."""

    rows = {unit_id: [r.to_dict() for r in refs] for unit_id, refs in index._outgoing.items() if refs}
    kinds = {}
    general = {unit_id: basis for links in index._general_by_doc.values() for unit_id, basis in links}
    for unit_id in index._units:
        kind = ArticleKind(unit_id in index._liability, general.get(unit_id, ""), unit_id in index._duty_units)
        if kind != _PLAIN_ARTICLE:
            kinds[unit_id] = asdict(kind)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"format": CACHE_FORMAT, "refs": rows, "kinds": kinds}, ensure_ascii=False),
                       encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
