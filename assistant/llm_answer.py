"""The two optional model steps of an answer, and the check that keeps them honest.

* Query rewriting (`rewrite_queries`): the question → 1–3 legal-language queries
  (prompt `assistant/prompts/rewrite_v1.md`, JSON requested; anything that is not a
  list of short strings is dropped with a note). Each query is retrieved by the same
  `Pipeline.retrieve` and its ranking is fused with the original query's ranking by the
  pipeline's RRF (`Rewrites.fuse`). The original ranking weighs as much as all rewrites
  together (`REWRITE_SHARE`), so a drifting rewrite cannot push the question's own
  hits out; the weight is not tuned (no model server was available to measure it).
* The written answer (`write_answer`): the model receives only the question, the
  structured analysis (结论 lines, parties, remedies — all already verified) and the
  text of the verified evidence articles (prompt `answer_v1.md`). Every `《法名》第X条`
  in its text is parsed with the lookup's reference parser and title resolution
  (`assistant.lookup.parse_article_refs`, `corpus.versions.title_key`; numerals via
  `corpus.numerals`) and must be one of the articles the model was given; any other
  reference is removed and listed, and a sentence left without a verified reference is
  removed with it. A text that then has no verified reference or is too short is not
  shown: the deterministic 结论 is, with a note saying why.

Every failure (server down, timeout, HTTP error, malformed output) becomes a visible
note and the deterministic answer stands; nothing here raises into the answer.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

from assistant.llm import Deadline, LLMError, LLMSettings, chat, load_prompt
from assistant.lookup import parse_article_refs
from assistant.records import Answer, Evidence, also_called_text
from assistant.render import conclusion_text, esc
from corpus.numerals import canonical_article_label
from corpus.versions import title_key
from indexer.hits import RRF_C, fuse
from indexer.records import Hit

REWRITE_PROMPT, ANSWER_PROMPT = "rewrite_v1", "answer_v1"
MAX_REWRITES = 3
MAX_QUERY_CHARS = 80  # a rewrite longer than this is not a query
REWRITE_SHARE = 1.0  # RRF weight of all rewrites together; the original ranking has weight 1
MAX_EVIDENCE = 12  # articles the model receives
MAX_ARTICLE_CHARS = 600  # of each article's text
MIN_WRITTEN_CHARS = 40  # a written answer shorter than this (after removals) is not shown
_SENTENCE_ENDS = "。！？；!?;\n"
_SENTENCE_RE = re.compile(f"[^{_SENTENCE_ENDS}]*[{_SENTENCE_ENDS}]?")
_CLAUSE_RE = re.compile(r"[^，,]*[，,]?")
_LEFTOVER_RE = re.compile(r"、\s*(?=[、和及与，。；）)]|$)|[和及与]\s*(?=[，。；、）)]|$)|(?<=[（(，])\s*[、和及与]|[（(]\s*[)）]")


# ------------------------------------------------------------------ rewriting


@dataclass
class Rewrites:
    """The rewritten queries of one question and what retrieving them found.

    `rankings` (query → unit ids, best first) is filled by `fuse`; `note` says
    why there are no queries (switched off, server failure, malformed output)."""

    queries: tuple[str, ...] = ()
    note: str = ""
    model: str = ""
    prompt: str = REWRITE_PROMPT
    prompt_sha256: str = ""
    ms: float = 0.0
    rankings: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"queries": list(self.queries)}

    def fuse(self, original: list[tuple[str, dict]], rewritten: dict[str, list[tuple[str, dict]]], k: int,
             ) -> list[tuple[str, dict]]:
        """RRF (`assistant.pipeline.fuse`) of the original query's ranking with each rewrite's,
        recording each rewrite's top ten in `rankings`.

        Each input is `Pipeline.retrieve` output `[(unit_id, scores)]`. The original ranking
        has weight 1 and the rewrites share `REWRITE_SHARE`. A unit keeps its original scores
        (bm25 / dense of the question itself); `fused` becomes the new RRF score and
        `rewrite` its best rank among the rewrites."""
        def hits(ranking: list[tuple[str, dict]], name: str) -> list[Hit]:
            return [Hit(passage_id="", unit_id=uid, doc_id="", score=0.0, rank=rank, retriever=name)
                    for rank, (uid, _) in enumerate(ranking, start=1)]

        self.rankings = {query: [uid for uid, _ in ranking[:10]] for query, ranking in rewritten.items()}
        rankings = {"original": hits(original, "original")}
        weights = {"original": 1.0}
        for i, ranking in enumerate(rewritten.values(), start=1):
            rankings[f"rewrite{i}"] = hits(ranking, f"rewrite{i}")
            weights[f"rewrite{i}"] = REWRITE_SHARE / max(1, len(rewritten))
        scores = dict(original)
        best_rewrite: dict[str, int] = {}
        for ranking in rewritten.values():
            for rank, (uid, their) in enumerate(ranking, start=1):
                best_rewrite[uid] = min(best_rewrite.get(uid, rank), rank)
                scores.setdefault(uid, {name: None for name in their if name != "fused"})
        out = []
        for uid, fused in fuse(rankings, k=k, c=RRF_C, weights=weights):
            entry = dict(scores.get(uid, {}))
            entry["fused"] = fused
            entry["rewrite"] = best_rewrite.get(uid)
            out.append((uid, entry))
        return out


def parse_queries(text: str, question: str) -> list[str]:
    """The queries in a model's rewrite output: `{"queries": [...]}` or a bare list,
    possibly inside a code fence or after other words. Keeps short distinct strings that
    differ from the question, at most `MAX_REWRITES`; raises ValueError when the text
    holds no such JSON (the caller turns that into a note)."""
    data = _first_json(text or "")
    items = data.get("queries") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError('the model\'s JSON has no "queries" list')
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        query = " ".join(item.split())
        if query and len(query) <= MAX_QUERY_CHARS and query != question.strip() and query not in out:
            out.append(query)
    if not out:
        raise ValueError("the model's JSON holds no usable query")
    return out[:MAX_REWRITES]


def _first_json(text: str):
    """The first JSON object or array in `text` that parses (models wrap JSON in code
    fences or words, sometimes with more braces after it); ValueError when there is none."""
    decoder = json.JSONDecoder()
    starts = [i for i, ch in enumerate(text) if ch in "{["]
    if not starts:
        raise ValueError("no JSON in the model's output")
    for start in starts:
        try:
            return decoder.raw_decode(text, start)[0]
        except ValueError:
            continue
    raise ValueError("the model's output is not valid JSON")


def rewrite_queries(settings: LLMSettings, question: str, deadline: Deadline) -> Rewrites:
    """Ask the model for legal-language queries; never raises (failures are the note)."""
    started = time.perf_counter()
    result = Rewrites(model=settings.model)
    try:
        prompt = load_prompt(REWRITE_PROMPT)
        result.prompt_sha256 = prompt.describe()["prompt_sha256"]
        text = chat(settings, prompt.text, f"问题：{question}", seconds=deadline.remaining(), max_tokens=300)
        result.queries = tuple(parse_queries(text, question))
    except (LLMError, ValueError) as exc:
        result.note = f"查询改写未使用：{exc}"
    deadline.spend(time.perf_counter() - started)
    result.ms = round((time.perf_counter() - started) * 1000, 1)
    return result


# ------------------------------------------------------------------ written answer


@dataclass
class CheckedText:
    """A model text after citation checking: `verified` and `removed` are refs
    (`<law title><第X条>`, the evidence's own form for verified ones, as written for removed)."""

    text: str
    verified: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def nest_marks(text: str) -> str:
    """Inner book-title marks as 〈〉, the standard typography the reference parser reads:
    `《最高人民法院关于适用《行政诉讼法》的解释》` → `《最高人民法院关于适用〈行政诉讼法〉的解释》`
    (titles of judicial interpretations hold a law's title in 《》)."""
    out, depth = [], 0
    for ch in text:
        if ch == "《":
            out.append("《" if depth == 0 else "〈")
            depth += 1
        elif ch == "》" and depth > 0:
            depth -= 1
            out.append("》" if depth == 0 else "〉")
        else:
            out.append(ch)
    return "".join(out)


def evidence_key(law: str, article: str) -> tuple[str, str]:
    """How a cited article is compared with the evidence: the one title key
    (`corpus.versions.title_key`: no book marks, no 中华人民共和国, NFKC) and the canonical
    article label."""
    return title_key(law), canonical_article_label(article) or article


def check_citations(text: str, evidence: Iterable[Evidence], catalog=None) -> CheckedText:
    """Keep only references to `evidence`; see the module docstring for the rules.

    References are parsed sentence by sentence (`该法` cannot reach into another
    sentence, so a reference whose law is unclear is unverifiable). An unverifiable
    reference is cut out with its clause, or alone when a verified reference shares the
    clause (`_cut`); a sentence that had one and keeps no verified reference is dropped
    entirely — its statement rested on an article that does not check out."""
    allowed = {evidence_key(e.law, e.article): e.ref for e in evidence}
    verified: list[str] = []
    removed: list[str] = []
    kept_sentences: list[str] = []
    for sentence in _SENTENCE_RE.findall(nest_marks(text or "")):
        if not sentence:
            continue
        refs = parse_article_refs(sentence, catalog, carry="sentence")
        good, bad = [], []
        for ref in refs:
            law = ref.law or ref.law_text
            match = allowed.get(evidence_key(law, ref.article)) if law else None
            (good if match else bad).append((ref, match))
        if not bad:
            kept_sentences.append(sentence)
            verified += [match for _, match in good]
            continue
        removed += [(f"{ref.law_text}{ref.label}" if ref.law_text else ref.label) for ref, _ in bad]
        if not good:
            continue  # the sentence rested on references that do not check out
        kept_sentences.append(_cut(sentence, [ref for ref, _ in good], [ref for ref, _ in bad]))
        verified += [match for _, match in good]
    clean = "".join(kept_sentences).strip()
    return CheckedText(text=clean, verified=list(dict.fromkeys(verified)), removed=list(dict.fromkeys(removed)))


def _cut(sentence: str, good: list, bad: list) -> str:
    """The sentence without its unverifiable references: a clause (between commas) that
    holds only bad references goes whole; otherwise just the references (and their law
    name, unless a verified reference shares it), tidying the list marks they leave."""
    clauses = [m.span() for m in _CLAUSE_RE.finditer(sentence) if m.group(0)]

    def clause_of(pos: int) -> tuple[int, int]:
        return next((c for c in clauses if c[0] <= pos < c[1]), (pos, pos))

    good_clauses = {clause_of(ref.span[0]) for ref in good}
    good_law_spans = {ref.law_span for ref in good}
    spans = []
    for ref in bad:
        clause = clause_of(ref.span[0])
        if clause not in good_clauses:
            spans.append(clause)
            continue
        spans.append(ref.span)
        if ref.law_span[0] >= 0 and ref.law_span not in good_law_spans:
            spans.append(ref.law_span)
    keep = [True] * len(sentence)
    for start, end in spans:
        for i in range(max(0, start), min(len(sentence), end)):
            keep[i] = False
    out = "".join(ch for ch, k in zip(sentence, keep) if k).replace("《》", "")
    previous = None
    while previous != out:
        previous, out = out, _LEFTOVER_RE.sub("", out)
    end = sentence[-1] if sentence[-1] in _SENTENCE_ENDS else ""
    out = out.rstrip("，, ")
    return out + end if end and not out.endswith(end) else out


def model_evidence(answer: Answer, evidence: Sequence[Evidence], resolve: Callable[[str], bool] | None,
                   ) -> list[Evidence]:
    """The articles the model receives: those the analysis cites first, then the other
    evidence the analysis read, articles only (a citation must be `第X条`), each
    resolving in the index, at most `MAX_EVIDENCE`."""
    cited = [c.get("ref", "") for c in answer.analysis.citations]
    order = {ref: i for i, ref in enumerate(cited)}
    items = [e for e in evidence if e.kind == "article" and e.origin != "history"]
    items.sort(key=lambda e: (order.get(e.ref, len(order)), e.rank))
    out, seen = [], set()
    for item in items:
        if item.ref in seen or (resolve is not None and not resolve(item.ref)):
            continue
        seen.add(item.ref)
        out.append(item)
    return out[:MAX_EVIDENCE]


def answer_message(answer: Answer, evidence: Sequence[Evidence]) -> str:
    """The user message of the written-answer prompt: the question, the verified
    analysis and the evidence articles — nothing else from the index or the machine."""
    analysis = answer.analysis
    lines = [f"问题：{answer.question}", "", "结构化分析（已核验）："]
    lines += [f"- 结论{line}" for line in conclusion_text(answer)] or ["- 结论：无"]
    for party in analysis.parties:
        also = f"（{also_called_text(party)}）" if party.also_called else ""
        lines.append(f"- 责任主体：{party.party}{also}（{party.role}）{party.liability}：{party.consequence}；依据 {'、'.join(party.basis)}")
    for remedy in analysis.remedies:
        limit = f"，期限：{remedy.time_limit}" if remedy.time_limit else ""
        lines.append(f"- 救济途径：{remedy.remedy}{limit}；依据 {'、'.join(remedy.basis)}")
    if analysis.no_basis:
        lines.append(f"- 无依据的方面：{'、'.join(analysis.no_basis)}")
    lines += ["", "证据条文（只可引用这些）："]
    for i, item in enumerate(evidence, start=1):
        text = " ".join(item.text.split())
        if len(text) > MAX_ARTICLE_CHARS:
            text = text[:MAX_ARTICLE_CHARS] + "…"
        lines.append(f"[{i}] {nest_marks(f'《{item.law}》')}{item.article}：{text}")
    return "\n".join(lines)


def write_answer(settings: LLMSettings, answer: Answer, evidence: Sequence[Evidence], deadline: Deadline, *,
                 resolve: Callable[[str], bool] | None = None, catalog=None) -> dict[str, Any]:
    """`Answer.written`: `{text, verified, removed, model, prompt, prompt_sha256, ms,
    fallback}`. `text` is empty and `fallback` says why when the deterministic 结论 is
    shown instead (failure, or the checked text fails the minimum). Never raises."""
    started = time.perf_counter()
    written: dict[str, Any] = {"text": "", "verified": [], "removed": [], "model": settings.model,
                               "prompt": ANSWER_PROMPT, "prompt_sha256": "", "ms": 0.0, "fallback": "",
                               "raw_chars": 0}
    items = model_evidence(answer, evidence, resolve)
    try:
        prompt = load_prompt(ANSWER_PROMPT)
        written["prompt_sha256"] = prompt.describe()["prompt_sha256"]
        if not items:
            raise LLMError("没有可供引用的已核验条文")
        raw = chat(settings, prompt.text, answer_message(answer, items), seconds=deadline.remaining())
        written["raw_chars"] = len(raw)
        checked = check_citations(raw, items, catalog)
        written.update(verified=checked.verified, removed=checked.removed)
        if not checked.verified:
            written["fallback"] = "模型回答中没有可核验的引用，改为显示确定性结论"
        elif len(re.sub(r"\s", "", checked.text)) < MIN_WRITTEN_CHARS:
            written["fallback"] = f"模型回答删去无法核验的引用后不足 {MIN_WRITTEN_CHARS} 字，改为显示确定性结论"
        else:
            written["text"] = checked.text
    except LLMError as exc:
        written["fallback"] = f"模型回答不可用（{exc}），改为显示确定性结论"
    deadline.spend(time.perf_counter() - started)
    written["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return written


# ------------------------------------------------------------------ one answer's session


class LLMSession:
    """The model steps of one `Pipeline.ask`: one budget (`settings.timeout`) shared by
    rewriting and writing, so the whole answer waits at most that long for the model."""

    def __init__(self, settings: LLMSettings):
        self.settings = settings
        self.deadline = Deadline(settings.timeout)

    def rewrites(self, question: str) -> Rewrites:
        if not self.settings.rewrite:
            return Rewrites(note="查询改写已关闭")
        return rewrite_queries(self.settings, question, self.deadline)

    def written(self, answer: Answer, evidence: Sequence[Evidence], *, resolve=None, catalog=None) -> dict[str, Any]:
        if not self.settings.write or answer.no_legal_basis or not answer.hits:
            return {}
        return write_answer(self.settings, answer, evidence, self.deadline, resolve=resolve, catalog=catalog)


def all_verified(written: dict[str, Any]) -> bool:
    """The model wrote a text citing at least one article, and none of its references had
    to be removed (whether it was then long enough to be shown is counted apart)."""
    return bool(written.get("raw_chars")) and bool(written.get("verified")) and not written.get("removed")


# ------------------------------------------------------------------ display


def written_parts(answer: Answer) -> list[tuple[str, str]]:
    """What to show of the model steps, as `(kind, text)`: `rewrites` (the queries or why
    there are none), `heading`, then `text` (the checked answer) or `fallback` (why the
    deterministic 结论 stands instead), and `removed` (the references taken out)."""
    parts: list[tuple[str, str]] = []
    rewrites = (answer.retrieval or {}).get("rewrites") or {}
    if rewrites.get("queries") or rewrites.get("note"):
        parts.append(("rewrites", "检索改写：" + ("；".join(rewrites["queries"]) or rewrites["note"])))
    written = answer.written or {}
    if written:
        parts.append(("heading", f"模型撰写的回答（{written.get('model', '')} · {written.get('prompt', '')} · 引用均已核验）"))
        if written.get("text"):
            parts.append(("text", written["text"]))
        else:
            parts.append(("fallback", f"{written.get('fallback', '')}（见结论）"))
        if written.get("removed"):
            parts.append(("removed", f"已删除无法核实的引用：{'、'.join(written['removed'])}"))
    return parts


def written_lines(answer: Answer) -> list[str]:
    """Plain-text lines for `fagui ask` (printed before the deterministic 结论)."""
    lines = [text if kind in ("rewrites", "heading") else f"  {text}" for kind, text in written_parts(answer)]
    return lines + [""] if lines else []


def render_written(answer: Answer) -> str:
    """The same as an escaped HTML card for the app, or "" when no model step ran."""
    tags = {"rewrites": '<p class="muted">{}</p>', "heading": "<h4>{}</h4>", "text": '<p class="written">{}</p>',
            "fallback": '<p class="warning">{}</p>', "removed": '<p class="warning">{}</p>'}
    parts = [tags[kind].format(esc(text)) for kind, text in written_parts(answer)]
    return '<div class="fagui-card written">' + "".join(parts) + "</div>" if parts else ""


def render_rewrite_details(pipeline, question: str, k: int, settings: LLMSettings, mode: str = "hybrid") -> str:
    """检索详情 with rewriting: the rewritten queries, each one's top five articles, and the
    fused ranking (rank with rewrites, rank of the question alone, best rewrite rank)."""
    rewrites = LLMSession(settings).rewrites(question)
    if not rewrites.queries:
        return f'<div class="fagui-card rewrites"><p class="warning">{esc(rewrites.note)}</p></div>'
    depth = pipeline.retrieval_depth(k)
    original = pipeline.retrieve(question, mode=mode, k=depth)
    fused = rewrites.fuse(original, {q: pipeline.retrieve(q, mode=mode, k=depth) for q in rewrites.queries}, k=depth)
    alone = {uid: rank for rank, (uid, _) in enumerate(original, start=1)}

    def label(uid: str) -> str:
        doc, unit = pipeline.unit(uid)
        return esc(f"《{doc.title}》{unit.number}")

    parts = ['<div class="fagui-card rewrites">',
             f"<h4>检索改写 <small>{esc(rewrites.model)} · {esc(rewrites.prompt)} · {rewrites.ms:.0f} ms</small></h4><ol>"]
    for query, units in rewrites.rankings.items():
        parts.append(f"<li>{esc(query)}<div class='muted'>{'；'.join(label(u) for u in units[:5])}</div></li>")
    parts.append("</ol><table><thead><tr><th>融合排名</th><th>条文</th><th>原问题排名</th><th>改写最佳排名</th></tr></thead><tbody>")
    for rank, (uid, scores) in enumerate(fused[:k], start=1):
        parts.append(f"<tr><td>{rank}</td><td>{label(uid)}</td><td>{alone.get(uid, '—')}</td>"
                     f"<td>{scores.get('rewrite') or '—'}</td></tr>")
    return "".join(parts) + "</tbody></table></div>"
