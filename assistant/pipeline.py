"""The `ask` pipeline: question → (lookup | hybrid search) → evidence → cited analysis.

One object per collection holds the loaded index and the collection's documents, so
the CLI, the app and the evaluation all answer through exactly the same code.
Order of work for a question:
1. direct article lookup when the question names articles (`数安法45条`) — a named
   article is answered by lookup, never by similarity;
2. retrieval (bm25 | dense | hybrid) over the current versions, de-duplicated by unit,
   filtered (doc_type, region, status, title);
3. expansion: cross-referenced articles and the liability articles that sanction a
   retrieved duty (and the duties a retrieved liability article enforces);
4. history: superseded versions of retrieved articles, listed after the current ones;
5. the responsibility analysis over that evidence, verified against the index.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.analysis import (FALLBACK_ISSUES, FALLBACK_ROLES, analyse, evidence_from_unit, says_nothing,
                                scholarship_paper, unit_label)
from assistant.issue_map import DEFAULT_PATH as ISSUE_MAP_PATH
from assistant.issue_map import IssueMap, cited_laws, empty_issue_map, load_issue_map, place_word, ranked_provisions
from assistant.llm_answer import LLMSession
from assistant.lookup import LawCatalog, lookup as run_lookup
from assistant.protocol import MODES
from assistant.provisions import is_liability_source
from assistant.records import Analysis, Answer, Evidence, RecognisedIssue, Understanding
from assistant.refs import split_ref
from assistant.understanding import BINDING_FIRST_INTENTS, LegalVocabulary, PROVINCES, understand
from assistant.vocabulary import expand_query
from assistant.xref import CrossRefIndex, parsing_fingerprint
from corpus import config
from corpus.errors import UsageError
from corpus.hashing import file_sha256
from corpus.normalize import to_simplified
from corpus.numerals import canonical_article_label
from corpus.records import Document, Unit, paused_gc
from corpus.versions import VersionIndex, title_key
from indexer.hits import RRF_C, fuse
from indexer.records import Hit
from indexer.rerank import Reranker, RerankerError, rerank_order, rerank_text
from indexer.segment import PARTY_TERMS, title_core
from indexer.store import load_index

#: Why a dense or hybrid question was answered by BM25 alone, by the index's dense state
#: (indexer.store.DENSE_*): a BM25-first index whose vectors are still being embedded
#: (`fagui serve` does that in the background), or one built with `--bm25-only`.
BM25_FALLBACK_REASONS = {
    "pending": "the vectors of this index are not embedded yet (BM25-first build); answered by BM25",
    "off": "the index was built without vectors (--bm25-only); answered by BM25",
}
DEFAULT_DEPTH = 100  # candidates per retriever before fusion (the fusion and its constant: indexer.hits)
ANALYSIS_DEPTH = 10  # search hits the responsibility analysis reads
#: RRF weight of the issue map's ranked provisions (one more list in the fusion, see
#: `Pipeline.issue_ranking`), per text retriever in the fusion: the map counts as much as
#: BM25 and dense together (weight 2 in hybrid, 1 in a single mode). Chosen on the
#: even-numbered questions of domain_dev + domain_lay_dev only (`python -m
#: eval.tune_issue_map`): hybrid on the 89-document default, total weight 0.5/1/2/3 gave
#: even R@10 0.273/0.317/0.350/0.340 (odd, held out: 0.357/0.399/0.400/0.400; map off
#: 0.245/0.310); BM25 on the widened default, 0.5/1/2/3 gave even 0.247/0.337/0.307/0.307
#: (odd 0.233/0.356/0.382/0.382; map off 0.176/0.151) — both best at one per text list.
#: Confirmed in hybrid on the widened default (1,517 documents): per text list
#: 0.25/0.5/1/1.5 gave even R@10 0.243/0.300/0.365/0.323 (odd 0.245/0.311/0.399/0.393;
#: map off 0.193/0.178); recognition at 3 points instead of 2 was worse (even 0.333).
MAP_WEIGHT = 1.0
#: The laws of the recognised issues (the first LAW_SCOPE_ISSUES, in score order) are
#: searched once more: BM25's and the dense retriever's hits (LAW_SCOPE_DEPTH times as
#: deep) restricted to those laws are two more ranked lists in the fusion, at
#: LAW_SCOPE_WEIGHT each. Why: the map lists a few provisions per issue, but the governing
#: article is often another one of the same law (17 of the 86 gold articles of
#: domain_lay_dev's held-out half are in no issue, all in laws the map cites), and appending
#: more provisions to the lists pushed listed gold out of the top 10 (README). Chosen on the
#: training halves of domain_dev + domain_lay_dev only (weight 0.15 / 0.25 / 0.35 / 0.5 / 1,
#: issues 1 / 3 / 6, depth × 2 / 5 — every setting from 0.15 to 0.5 gained there); held out
#: at 0.25 / 3 / × 2: domain_lay_dev R@10 0.463 → 0.489, domain_dev MRR@10 0.733 → 0.775.
LAW_SCOPE_WEIGHT = 0.25
LAW_SCOPE_ISSUES = 3
LAW_SCOPE_DEPTH = 2
#: Reranking (indexer/rerank.py): the fused top RERANK_DEPTH candidates are reordered by
#: the cross-encoder, fused with their retrieval order at weight RERANK_BLEND
#: (`rerank_order`). Chosen on the STARD dev slice only (eval/splits.py; depth 10/20/30/50 ×
#: blend 0/0.5/1/2): blend 2 was best; depth 20 gave R@10 0.586, MRR@10 0.444 (unreranked
#: 0.556, 0.414) but a `national` answer p95 of 338 ms in `fagui bench` (budget 300 ms), so
#: depth 15 (dev 0.573, 0.428), the next cheaper one. Whether it is on when nobody says:
#: RERANK_BY_DEFAULT (issue 14: only when it wins on both held-out splits within the
#: latency budget): held out at depth 15, R@10 STARD 0.524 → 0.535, domain_dev 0.687 →
#: 0.707, domain_lay_dev 0.381 → 0.407 (eval/reports/RERANK.md).
RERANK_DEPTH = 15
RERANK_BLEND = 2.0
RERANK_BY_DEFAULT = True
BACKGROUND_K = 5  # policy / scholarship hits listed apart (背景) for liability-type questions
NO_LEGAL_BASIS = "未找到相关法律依据"


@dataclass(frozen=True)
class Filters:
    """Restrict hits by document metadata; empty fields do not filter."""

    doc_type: tuple[str, ...] = ()
    region: str = ""
    status: tuple[str, ...] = ()
    title: str = ""

    @classmethod
    def from_dict(cls, data: dict | None) -> "Filters":
        data = data or {}

        def as_tuple(value) -> tuple[str, ...]:
            if not value:
                return ()
            return (value,) if isinstance(value, str) else tuple(value)

        return cls(
            doc_type=as_tuple(data.get("doc_type")),
            region=data.get("region") or "",
            status=as_tuple(data.get("status")),
            title=data.get("title") or "",
        )

    def admits(self, doc: Document) -> bool:
        if self.doc_type and doc.doc_type not in self.doc_type:
            return False
        if self.region and self.region not in doc.region:
            return False
        if self.status and doc.status not in self.status:
            return False
        if self.title and self.title not in doc.title:
            return False
        return True

    @property
    def active(self) -> bool:
        return bool(self.doc_type or self.region or self.status or self.title)


@dataclass
class UnitTable:
    """unit_id → (document, unit), plus (law title key, article label) → current unit_id
    (titles compare by `corpus.versions.title_key`)."""

    documents: dict[str, Document] = field(default_factory=dict)
    units: dict[str, tuple[Document, Unit]] = field(default_factory=dict)
    current_article: dict[tuple[str, str], str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "<title><label>" → unit_id (the current version's first)
    versions: VersionIndex | None = None  # the collection's one version index (shared with lookup)

    @classmethod
    def build(cls, documents: list[Document], versions: VersionIndex | None = None) -> "UnitTable":
        """Tables of `documents`; `versions` is the collection's `VersionIndex` when one is
        already built (`LawCatalog.versions`), so history is grouped once for lookup and ask."""
        table = cls(versions=versions if versions is not None else VersionIndex(documents))
        for doc in documents:
            table.documents[doc.doc_id] = doc
            for unit in doc.units:
                table.units[unit.unit_id] = (doc, unit)
            if doc.status == "duplicate":
                continue
            for unit in doc.units:
                # a ref names the current version when there is one (a superseded version
                # of the same title carries the same labels, and comes first in file order)
                ref = f"{doc.title}{unit_label(unit)}"
                if ref not in table.refs or (doc.status == "current" and table.units[table.refs[ref]][0].status != "current"):
                    table.refs[ref] = unit.unit_id
            if doc.status == "current":
                key = title_key(doc.title)
                for unit in doc.units:
                    if unit.kind == "article" and unit.number:
                        table.current_article.setdefault((key, unit.number), unit.unit_id)
        return table

    def resolve(self, law: str, article: str) -> str | None:
        label = canonical_article_label(article) or article
        return self.current_article.get((title_key(law), label))

    def history(self, doc: Document, unit: Unit) -> list[tuple[Document, Unit]]:
        """The same article in the older versions of the same instrument, newest first:
        `VersionIndex.history` (the lookup tab's list), without the versions that lack it."""
        if unit.kind != "article" or not unit.number:
            return []
        try:
            label = canonical_article_label(unit.number)
        except ValueError:  # a number that is not an article label has no history
            return []
        return [(old, old_unit) for old, old_unit in self.versions.history(doc, label) if old_unit is not None]


class Pipeline:
    """Answers questions over one collection's built index (see module docstring)."""

    def __init__(self, collection: str, index, documents: list[Document], *, lookup=None, xrefs=None,
                 vocabulary: bool | None = None, issue_map: bool | None = None, reranker: Reranker | None = None):
        self.collection = collection
        # The cross-encoder (None: none installed or FAGUI_RERANKER=off); `rerank` is the
        # default of `ask`/`retrieve` (their `rerank` argument wins), depth and blend as above.
        self.reranker = reranker
        self.rerank = reranker is not None and RERANK_BY_DEFAULT
        self.rerank_depth = RERANK_DEPTH
        self.rerank_blend = RERANK_BLEND
        # Lay → legal query vocabulary for BM25 (assistant/vocabulary.py). Off by default: on
        # the 1,235 STARD questions it cost 1.4 points of BM25 Recall@10 (0.472 → 0.458) and
        # left hybrid unchanged (0.514); FAGUI_VOCABULARY=1 turns it on.
        self.vocabulary = vocabulary if vocabulary is not None else config.vocabulary_enabled()
        # The issue map (assistant/issue_map.py) joins retrieval unless FAGUI_ISSUE_MAP=0 (the
        # switch for before/after measurements); loaded on first use, once per Pipeline.
        self.use_issue_map = issue_map if issue_map is not None else config.issue_map_enabled()
        self.map_weight = MAP_WEIGHT
        self.law_scope_weight = LAW_SCOPE_WEIGHT  # 0: no law-scoped lists (before/after measurements)
        self.issue_threshold: float | None = None  # None: assistant.issue_map.RECOGNISE_AT
        self._issue_map: IssueMap | None = None
        self._issue_units: dict[str, str | None] = {}
        self._legal_vocabulary = None  # assistant.understanding.LegalVocabulary, built on first use
        self.index = index
        self.table = UnitTable.build(documents, versions=lookup.versions if lookup is not None else None)
        self.regions = tuple(sorted({d.region for d in documents if d.region}))  # places of local documents
        self.lookup = lookup
        self.xrefs = xrefs
        self.paper = scholarship_paper(documents)

    @classmethod
    def open(cls, collection: str, index_dir: Path | None = None, model_path: str | None = None) -> "Pipeline":
        """Load a built index (no re-embedding, no re-parsing) and its documents, and the
        reranker FAGUI_RERANKER names (default: the repository's `models/reranker/`)."""
        reranker = open_reranker()
        index_dir = index_dir or default_index_dir(collection)
        with paused_gc():  # a million records, no garbage (see corpus.records.paused_gc)
            index = load_index(index_dir, model_path=model_path)
            documents = index.documents()
            catalog = LawCatalog(documents)  # built once: names, versions, articles for lookup, xrefs and history
            xrefs = CrossRefIndex.build(documents, catalog=catalog, cache=xref_cache_path(index.directory))  # holds documents.jsonl
            return cls(collection, index, documents, lookup=catalog, xrefs=xrefs, reranker=reranker)

    # -- protocol -----------------------------------------------------------------------

    def resolve(self, law: str, article: str) -> str | None:
        return self.table.resolve(law, article)

    def resolve_ref(self, ref: str) -> bool:
        """True when a `<law><label>` string names a unit of this collection (any article
        of a current version by title + `第X条`, or any unit by its exact citation label)."""
        return self.unit_id_for_ref(ref) is not None

    def unit_id_for_ref(self, ref: str) -> str | None:
        """The unit a `<law><label>` string names (see `resolve_ref`), or None: the exact
        citation label of any unit first, then title + `第X条` of a current version."""
        unit_id = self.table.refs.get(ref)
        if unit_id:
            return unit_id
        parts = split_ref(ref)
        return self.resolve(*parts) if parts else None

    # -- views of the collection (the app reads the index only through these) -----------

    def unit(self, unit_id: str) -> tuple[Document, Unit] | None:
        """(document, unit) of a unit id of this index, or None when it has no such unit."""
        return self.table.units.get(unit_id)

    def documents(self) -> list[Document]:
        """The collection's documents, in index order."""
        return list(self.table.documents.values())

    @property
    def has_vectors(self) -> bool:
        """True when the index's dense vectors are loaded (hybrid and dense can run)."""
        return self.index.dense is not None

    @property
    def best_mode(self) -> str:
        """The richest mode this index can answer in: hybrid with vectors, else bm25."""
        return "hybrid" if self.has_vectors else "bm25"

    @staticmethod
    def retrieval_depth(k: int) -> int:
        """Candidates each retriever returns before fusion for a top-`k` answer."""
        return max(DEFAULT_DEPTH, k * 3)

    def warm_up(self) -> None:
        """Load the query model now (one dense search), so the first question after an
        index is opened or swapped in is not slowed down by model loading."""
        if self.has_vectors:
            self.index.search_dense("预热", 1)

    def scope_laws(self, understanding: Understanding) -> frozenset[str]:
        """The title keys (`corpus.versions.title_key`) of the laws the first
        LAW_SCOPE_ISSUES recognised issues cite."""
        return cited_laws(understanding.issues[:LAW_SCOPE_ISSUES])

    def law_scoped(self, hits: list[Hit], laws: frozenset[str]) -> list[Hit]:
        """`hits` of documents whose title key is in `laws`, ranked 1… in their order."""
        kept = [h for h in hits if h.unit_id in self.table.units and title_key(self.table.units[h.unit_id][0].title) in laws]
        return [replace(h, rank=rank) for rank, h in enumerate(kept, start=1)]

    def query_tokens(self, text: str) -> list[str]:
        """`text` segmented exactly as BM25 segments a question (for highlighting)."""
        return self.index.segmenter.tokenize(text)

    def retriever_hits(self, question: str, depth: int) -> dict[str, list[Hit]]:
        """Each text retriever's own top `depth` hits (`bm25`, and `dense` with vectors),
        unfused and unfiltered: the scores behind a fused ranking, for inspection."""
        hits = {"bm25": self.index.search_bm25(question, depth)}
        if self.has_vectors:
            hits["dense"] = self.index.search_dense(question, depth)
        return hits

    def retrieval_mode(self, requested: str) -> dict:
        """`{"requested", "used", "reason", "vectors"}`: the mode that can run on this
        index. An index without vectors answers dense and hybrid questions by BM25
        (instead of failing, or blocking until the vectors exist) and the answer says
        why; `vectors` is the index's dense state (off / pending / complete)."""
        if requested not in MODES:
            raise UsageError(f"unknown mode {requested!r}; use one of {', '.join(MODES)}")
        state = self.index.dense_state
        if requested == "bm25" or self.index.dense is not None:
            return {"requested": requested, "used": requested, "reason": "", "vectors": state}
        reason = BM25_FALLBACK_REASONS.get(state, BM25_FALLBACK_REASONS["off"])
        return {"requested": requested, "used": "bm25", "reason": reason, "vectors": state}

    def fingerprint(self) -> dict:
        manifest = self.index.manifest
        return {
            "collection": self.collection,
            "collection_sha256": manifest.get("collection", {}).get("sha256", ""),
            "model": manifest.get("model", {}).get("name", ""),
            "model_sha256": manifest.get("model", {}).get("weights_sha256", ""),
            "precision": manifest.get("model", {}).get("precision", ""),
            "faiss": manifest.get("faiss", {}).get("kind", ""),
            "backend": manifest.get("backend", "faiss"),
            "milvus_index": manifest.get("milvus", {}).get("index_type", ""),
            "index_created": manifest.get("created", ""),
            "query_vocabulary": self.vocabulary,
            "issue_map": self.use_issue_map and len(self.issue_map) > 0,
            "issue_map_issues": len(self.issue_map),
            "issue_map_sha256": self.issue_map.sha256,
            "issue_map_weight": self.map_weight if self.use_issue_map else None,
            "law_scope_weight": self.law_scope_weight if self.use_issue_map else None,
            "reranker": self.reranker.info.to_dict() if self.reranker is not None else None,
            "rerank": self.rerank,
            "rerank_depth": self.rerank_depth if self.rerank else None,
        }

    # -- question understanding ---------------------------------------------------------

    @property
    def issue_map(self) -> IssueMap:
        """The issue map, read and validated on first use (an invalid shipped map raises
        `IssueMapError` naming the file); empty when switched off or not shipped."""
        if self._issue_map is None:
            if not self.use_issue_map:
                self._issue_map = empty_issue_map("switched off (FAGUI_ISSUE_MAP=0)")
            elif not ISSUE_MAP_PATH.is_file():
                self._issue_map = empty_issue_map(f"{ISSUE_MAP_PATH} not found")
            else:
                self._issue_map = load_issue_map(ISSUE_MAP_PATH)
        return self._issue_map

    @property
    def vocabulary_of_law(self):
        """The collection's `LegalVocabulary` for `understand`: law titles (without
        中华人民共和国), their short names, party terms, the map's legal cues, and keyness
        from the BM25 index's document frequencies. Built once per Pipeline."""
        if self._legal_vocabulary is None:
            segmenter = getattr(self.index, "segmenter", None)
            bm25 = getattr(self.index, "bm25", None)
            aliases = set(segmenter.dictionary.aliases) if segmenter is not None else set()
            titles = {title_core(doc.title) for doc in self.table.documents.values() if doc.title}
            # a place is never legal vocabulary: provinces, the collection's regions, and the
            # cities and districts the issue map lists inside a region (温州, 浦东)
            places = {place_word(r) for r in (*self.regions, *PROVINCES)} | set(self.regions) | set(PROVINCES)
            places |= {word for words in self.issue_map.places.values() for word in words}
            self._legal_vocabulary = LegalVocabulary(
                lexicon=frozenset(titles | aliases | set(PARTY_TERMS) | self.issue_map.legal_terms),
                document_frequency=bm25.document_frequency if bm25 is not None else None,
                passages=len(bm25.passages) if bm25 is not None else 0,
                general_frequency=segmenter.general_frequency if segmenter is not None else None,
                places=frozenset(places),
            )
        return self._legal_vocabulary

    def understand(self, question: str) -> Understanding:
        """`assistant.understanding.understand` with this collection's map, words and places."""
        segmenter = getattr(self.index, "segmenter", None)
        return understand(
            question,
            issue_map=self.issue_map,
            tokenize=segmenter.tokenize if segmenter is not None else None,
            vocabulary=self.vocabulary_of_law,
            regions=self.regions,
            threshold=self.issue_threshold,
        )

    def issue_evidence(self, understanding: Understanding | None) -> list[tuple[RecognisedIssue, list[Evidence]]]:
        """(issue, its liability / defendant / remedy / time-limit provisions as evidence,
        origin `issue_map`) for the first `FALLBACK_ISSUES` recognised issues, for the 结论
        layers the retrieved articles leave 无依据 (`assistant.analysis.fill_from_issues`);
        provisions not in this collection are skipped."""
        out: list[tuple[RecognisedIssue, list[Evidence]]] = []
        for issue in (understanding.issues[:FALLBACK_ISSUES] if understanding is not None else []):
            items: list[Evidence] = []
            for provision in issue.provisions:
                if provision.role not in FALLBACK_ROLES:
                    continue
                if provision.ref not in self._issue_units:
                    self._issue_units[provision.ref] = self.resolve(provision.law, provision.article)
                unit_id = self._issue_units[provision.ref]
                if unit_id is not None and all(e.unit_id != unit_id for e in items):
                    items.append(self.evidence(unit_id, rank=len(items) + 1, origin="issue_map"))
            if items:
                out.append((issue, items))
        return out

    def issue_ranking(self, understanding: Understanding | None) -> list[Hit]:
        """The recognised issues' provisions, resolved to current units, as a ranked list
        (issue score, then role priority; see `assistant.issue_map.ranked_provisions`)."""
        if understanding is None or not understanding.issues:
            return []
        out: list[Hit] = []
        for provision in ranked_provisions(understanding.issues, understanding.intents):
            if provision.ref not in self._issue_units:
                self._issue_units[provision.ref] = self.resolve(provision.law, provision.article)
            unit_id = self._issue_units[provision.ref]
            if unit_id is not None and all(h.unit_id != unit_id for h in out):
                out.append(Hit(passage_id="", unit_id=unit_id, doc_id=self.table.units[unit_id][0].doc_id,
                               score=0.0, rank=len(out) + 1, retriever="issue_map"))
        return out

    # -- retrieval ----------------------------------------------------------------------

    def use_rerank(self, requested: bool | None) -> bool:
        """Whether an answer is reranked: `requested` when given, else the pipeline's default.
        Asking for reranking without a reranker is a usage error, not a silent fallback."""
        if requested is None:
            return self.rerank and self.reranker is not None
        if requested and self.reranker is None:
            raise UsageError("no reranker: models/reranker/ is missing or FAGUI_RERANKER=off; use --no-rerank")
        return requested

    def retrieve(self, question: str, *, mode: str = "hybrid", k: int = 10, filters: Filters | None = None,
                 timings: dict | None = None, understanding: Understanding | None = None,
                 rerank: bool | None = None) -> list[tuple[str, dict[str, float]]]:
        """Ranked `(unit_id, scores)` for a question; scores has bm25/dense/fused.

        With an `understanding`, the provisions of its recognised issues are one more
        ranked list in the fusion (weight `self.map_weight` per text retriever), and each
        text retriever's hits within those issues' laws one more each (`law_scoped`,
        weight `self.law_scope_weight`; see LAW_SCOPE_WEIGHT). With
        reranking (`use_rerank`), the top `rerank_depth` are reordered by the cross-encoder
        and their scores also have `rerank` (its logit) and `rank_before` (the fused rank)."""
        rerank = self.use_rerank(rerank)
        wanted = max(k, self.rerank_depth) if rerank else k
        mode = self.retrieval_mode(mode)["used"]
        filters = filters or Filters()
        timings = timings if timings is not None else {}
        depth = self.retrieval_depth(wanted) * (4 if filters.active else 1)
        # An index that can filter inside its search (the Milvus backend: `scope` → a Milvus
        # expression) gets the filters there too; `filters.admits` below stays the definition.
        where = {"where": self.index.scope(filters)} if filters.active and hasattr(self.index, "scope") else {}
        issue_hits = self.issue_ranking(understanding)
        laws = self.scope_laws(understanding) if issue_hits and self.law_scope_weight else frozenset()
        searched = depth * LAW_SCOPE_DEPTH if laws else depth  # one deeper search serves both lists
        deep: dict[str, list] = {}
        if mode in ("bm25", "hybrid"):
            started = time.perf_counter()
            sparse_query = expand_query(question) if self.vocabulary else question
            tokens = self.index.segmenter.tokenize(sparse_query)
            timings["segment"] = _ms(started)
            started = time.perf_counter()
            deep["bm25"] = self.index.search_bm25_tokens(tokens, searched, **where)
            timings["bm25"] = _ms(started)
        if mode in ("dense", "hybrid"):
            started = time.perf_counter()
            query_vector = self.index.embed_query(question)
            timings["embed"] = _ms(started)
            started = time.perf_counter()
            deep["dense"] = self.index.search_dense_vector(query_vector, searched, **where)
            timings["faiss"] = _ms(started)
        started = time.perf_counter()
        rankings: dict[str, list] = {name: hits[:depth] for name, hits in deep.items()}
        per_retriever = {name: {h.unit_id: h.score for h in hits} for name, hits in rankings.items()}
        weights = {"issue_map": self.map_weight * max(len(rankings), 1)}
        for name, hits in deep.items():
            scoped = self.law_scoped(hits, laws) if laws else []
            if scoped:
                rankings[f"{name}_law"], weights[f"{name}_law"] = scoped, self.law_scope_weight
        if issue_hits:
            rankings["issue_map"] = issue_hits
        fused = fuse(rankings, k=depth * 2, c=RRF_C, weights=weights)
        out = []
        for unit_id, score in fused:
            entry = self.table.units.get(unit_id)
            if entry is None or not filters.admits(entry[0]):
                continue
            scores = {name: per_retriever[name].get(unit_id) for name in ("bm25", "dense") if name in per_retriever}
            scores["fused"] = score
            out.append((unit_id, scores))
            if len(out) >= wanted:
                break
        timings["fusion"] = _ms(started)
        if rerank and out:
            started = time.perf_counter()
            out = self.reranked(question, out)
            timings["rerank"] = _ms(started)
        return out[:k]

    def reranked(self, question: str, ranked: list[tuple[str, dict[str, float]]]) -> list[tuple[str, dict[str, float]]]:
        """The top `rerank_depth` of a ranking reordered by the cross-encoder (`rerank_order`);
        each reordered entry's scores gain `rerank` and `rank_before`."""
        head = [unit_id for unit_id, _ in ranked[: self.rerank_depth]]
        logits = self.reranker.score(question, [rerank_text(*self.table.units[u]) for u in head])
        scores = dict(zip(head, map(float, logits)))
        by_id = dict(ranked)
        before = {unit_id: rank for rank, (unit_id, _) in enumerate(ranked, start=1)}
        order = rerank_order([u for u, _ in ranked], scores, self.rerank_depth, self.rerank_blend)
        return [(u, {**by_id[u], "rerank": round(scores[u], 4), "rank_before": before[u]} if u in scores else by_id[u])
                for u in order]

    def search_hits(self, question: str, understanding: Understanding, *, mode: str, k: int, filters: Filters,
                    timings: dict, add, rewrites=None, rerank: bool | None = None) -> list[Evidence]:
        """Retrieve and `add` the top `k` search hits; return the 背景 list.

        With `rewrites` (`assistant.llm_answer.Rewrites` from a configured model), each
        rewritten query is retrieved the same way and RRF-fused with the question's ranking.

        For a question that asks about liability, compensation, remedies, deadlines,
        defendants or proof, binding law ranks above policy documents and scholarship:
        those are taken out of the hits and returned as background (up to
        `BACKGROUND_K`), and the hits are filled with binding articles instead."""
        # (not when the user filtered by document type: then those types are what was asked for)
        binding_first = bool(BINDING_FIRST_INTENTS.intersection(understanding.intents)) and not filters.doc_type
        found = self.retrieve(question, mode=mode, k=max(k * 3, k + 30) if binding_first else k, filters=filters,
                              timings=timings, understanding=understanding, rerank=rerank)
        if rewrites is not None and rewrites.queries:
            depth = len(found) or k
            found = rewrites.fuse(found, {q: self.retrieve(q, mode=mode, k=depth, filters=filters, rerank=False)
                                          for q in rewrites.queries}, k=depth)
        background: list[Evidence] = []
        searched = 0
        for unit_id, scores in found:
            if binding_first and not is_liability_source(self.table.units[unit_id][0].doc_type):
                if len(background) < BACKGROUND_K:
                    background.append(self.evidence(unit_id, rank=len(background) + 1, origin="search", scores=scores))
            elif searched < k:
                searched += 1
                add(unit_id, "search", scores)
        return background

    def no_legal_basis_note(self, searched: bool = False) -> str:
        """未找到相关法律依据 and what was looked for (the answer to a question without legal
        content); `searched`: the question names another party, so its search results follow."""
        looked = (f"{NO_LEGAL_BASIS}。已查找：法律问题图谱（{len(self.issue_map)} 个问题的线索）、"
                  f"“{self.collection}”集合的法律名称与法律用语、当事人与损害情形词表；")
        if searched:
            return looked + ("问题中没有出现其中的法律内容，但提到了提问者以外的一方，因此仍作了检索"
                             "（检索结果见下，仅供参考），不作责任分析。")
        return looked + "问题中没有出现其中任何内容，因此未作检索，也不作责任分析。"

    def nothing_found_note(self) -> str:
        """未找到相关法律依据 for a question that passed the vocabulary gate, matched no
        issue, and whose retrieved articles ground nothing (`assistant.analysis.says_nothing`)."""
        return (f"{NO_LEGAL_BASIS}。已查找：法律问题图谱（{len(self.issue_map)} 个问题的线索，未识别出任何一个）、"
                f"“{self.collection}”集合的条文（检索结果见下，仅供参考）；这些条文都没有写明谁应负责、"
                "负什么责任或如何救济，因此不作责任分析。")

    def evidence(self, unit_id: str, *, rank: int, origin: str, scores: dict | None = None) -> Evidence:
        doc, unit = self.table.units[unit_id]
        item = evidence_from_unit(doc, unit, rank=rank, origin=origin)
        # Evidence is frozen: a record with the retrievers' scores is a new, complete one
        return replace(item, scores=dict(scores)) if scores else item

    @staticmethod
    def analysis_evidence(hits: list[Evidence], depth: int = ANALYSIS_DEPTH) -> list[Evidence]:
        """What the analysis reads: lookups, the top `depth` search hits and their pairs
        (pairs are only made for the first hits, see `ask`).

        The analysis must rest on what the user sees first, whatever `k` a caller asks
        for (an evaluation at k=100 must not get a richer analysis than a user at k=10);
        superseded history is never a basis.
        """
        out, searched = [], 0
        for hit in hits:
            if hit.origin == "history":
                continue
            if hit.origin == "search":
                searched += 1
                if searched > depth:
                    continue
            out.append(hit)
        return out

    def paired_liabilities(self, unit_id: str, explicit_limit: int = 3, general_limit: int = 2) -> list[str]:
        """Liability articles that sanction a duty article, most specific first.

        Explicit pairs (`违反本法第X条`) come first. Law-wide clauses (`违反本法规定`) can
        be many, so they are ranked by how much of the duty's wording they share
        (character bigrams: the same actor and object, e.g. 国家机关 … 数据安全保护义务).
        """
        links = self.xrefs.liability_for(unit_id)
        explicit = [link.liability for link in links if link.kind == "explicit"][:explicit_limit]
        general = [link.liability for link in links if link.kind != "explicit"]
        if not general or unit_id not in self.table.units:
            return explicit
        duty_grams = _bigrams(self.table.units[unit_id][1].text)
        ranked = sorted(
            general,
            key=lambda uid: (-len(duty_grams & _bigrams(self.table.units[uid][1].text)) if uid in self.table.units else 0, uid),
        )
        return explicit + ranked[:general_limit]

    # -- answer -------------------------------------------------------------------------

    def ask(self, question: str, *, mode: str = "hybrid", k: int = 10, filters: dict | None = None,
            expand: bool = True, llm=None, rerank: bool | None = None) -> Answer:
        """Answer one question (see the module docstring). `llm` (`assistant.llm.LLMSettings`,
        None = no model, nothing is called) adds query rewriting and a verified written answer.
        `rerank` (None: the pipeline's default) reorders the top hits with the cross-encoder.
        A question typed in traditional characters is read in simplified ones (the
        collection's; `corpus.normalize.to_simplified`), and the answer repeats it as typed."""
        typed = (question or "").strip()
        if not typed:
            raise UsageError("empty question")
        question = to_simplified(typed)
        session = None
        if llm is not None:
            session = LLMSession(llm)
        timings: dict[str, float] = {}
        started_all = time.perf_counter()
        filt = Filters.from_dict(filters)
        answer = Answer(question=typed, collection=self.collection)
        answer.retrieval = self.retrieval_mode(mode)
        mode = answer.retrieval["used"]
        rerank = self.use_rerank(rerank)
        answer.retrieval["rerank"] = self.reranker.info.name if rerank else ""
        seen: set[str] = set()
        hits: list[Evidence] = []

        def add(unit_id: str, origin: str, scores: dict | None = None) -> None:
            if unit_id in seen or unit_id not in self.table.units:
                return
            seen.add(unit_id)
            hits.append(self.evidence(unit_id, rank=len(hits) + 1, origin=origin, scores=scores))

        started = time.perf_counter()
        pure_lookup = False
        if self.lookup is not None:
            result = run_lookup(question, self.lookup)
            answer.lookup = result.to_dict()
            pure_lookup = result.is_lookup
            for match in result.found:
                add(match.unit.unit_id, "lookup")
        timings["lookup"] = _ms(started)

        # A question that only names articles is answered by lookup, never by similarity:
        # if the named article does not exist, the answer says so instead of guessing.
        if not pure_lookup:
            started = time.perf_counter()
            answer.understanding = self.understand(question)
            timings["understand"] = _ms(started)
            if not answer.understanding.legal:
                # Nothing legal to search for: say so, never analyse (a confident liability
                # analysis of 😀 or a recipe would be invented). A question that names another
                # party (镇上干部推着不办事，往哪里反映) may still be a real one in words the gate
                # does not know: its search results are listed apart, still with no analysis.
                if answer.understanding.names_party:
                    answer.background = self.search_hits(question, answer.understanding, mode=mode, k=k,
                                                         filters=filt, timings=timings, add=add, rerank=rerank)
                answer.no_legal_basis = self.no_legal_basis_note(searched=answer.understanding.names_party)
                answer.hits, answer.analysis = hits, Analysis()
                timings["total"] = _ms(started_all)
                answer.timings_ms = timings
                return answer
            rewrites = session.rewrites(question) if session is not None else None
            answer.background = self.search_hits(question, answer.understanding, mode=mode, k=k, filters=filt,
                                                 timings=timings, add=add, rewrites=rewrites, rerank=rerank)
            if rewrites is not None:
                answer.retrieval["rewrites"] = rewrites.to_dict()

        started = time.perf_counter()
        if expand and self.xrefs is not None:
            for item in list(hits[:ANALYSIS_DEPTH]):
                for linked in self.paired_liabilities(item.unit_id):
                    add(linked, "liability-pair")
                for link in self.xrefs.duties_for(item.unit_id)[:3]:
                    add(link.duty, "duty-pair")
        timings["xref"] = _ms(started)

        for item in list(hits):
            doc, unit = self.table.units[item.unit_id]
            for old_doc, old_unit in self.table.history(doc, unit):
                add(old_unit.unit_id, "history")

        started = time.perf_counter()
        issue_evidence = self.issue_evidence(answer.understanding)
        evidence = self.analysis_evidence(hits)
        answer.analysis = analyse(question, evidence, resolve=self.resolve_ref, scholarship=self.paper,
                                  understanding=answer.understanding, issue_evidence=issue_evidence)
        if answer.understanding is not None and not answer.understanding.issues and says_nothing(answer.analysis):
            # No issue and nothing grounded: a grid of 无依据 is no analysis (says_nothing).
            answer.no_legal_basis, answer.analysis = self.nothing_found_note(), Analysis()
        timings["analysis"] = _ms(started)
        answer.hits = hits
        if session is not None and answer.understanding is not None:
            # The model sees every article the 结论 cites, including those filled from the recognised issues.
            filled = [item for _, items in issue_evidence for item in items]
            answer.written = session.written(answer, evidence + filled, resolve=self.resolve_ref,
                                             catalog=self.lookup)
        timings["total"] = _ms(started_all)
        answer.timings_ms = timings
        return answer


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def xref_cache_path(index_dir: Path) -> Path:
    """Where the parsed cross-references of this index live: keyed by the stored
    documents' bytes and the parsing code, so any change to either misses the cache."""
    documents_sha = file_sha256(Path(index_dir) / "documents.jsonl")
    return config.fagui_home() / "cache" / "xref" / f"{documents_sha[:24]}-{parsing_fingerprint()}.json"


def rerank_by_default() -> bool:
    """Whether answers are reranked when nobody chooses (where the app's switch starts):
    RERANK_BY_DEFAULT and a configured reranker folder that exists. `open_reranker` checks
    its files when a collection opens; a pipeline then starts from the same answer."""
    folder = config.reranker_folder()
    return RERANK_BY_DEFAULT and folder is not None and folder.exists()


def open_reranker() -> Reranker | None:
    """The configured reranker (its ONNX session loads at the first rerank), or None when
    FAGUI_RERANKER=off or the default folder is absent. An explicitly named folder that
    is missing or altered is a usage error naming it."""
    folder = config.reranker_folder()
    if folder is None or (not folder.exists() and folder == config.SHIPPED_RERANKER):
        return None
    try:
        return Reranker(folder)
    except RerankerError as exc:
        raise UsageError(str(exc)) from exc


def default_index_dir(collection: str) -> Path:
    from corpus.catalog import check_name  # corpus.catalog loads every reader (~0.4 s); answering needs none

    return config.fagui_home() / "indexes" / check_name(collection)
