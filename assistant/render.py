"""HTML for the app: answers, evidence, lookups, retrieval details, source views.

Every string that comes from a document, a file name or a user (titles, article text,
chapter paths, questions, warnings) goes through `esc` — `html.escape` with quotes —
before it reaches markup, so a document containing `<script>` or `<img onerror>` shows
as text and runs nothing. Functions here are pure (records in, HTML string out), so
escaping and highlighting are tested without a browser.

Links to the source view are plain `<a href>`s into the side panel (an iframe named
`SOURCE_FRAME`), so following a citation or a cross-reference needs no page script.
"""
from __future__ import annotations

import html
import re
from typing import Callable, Iterable, Sequence
from urllib.parse import urlencode

from assistant.analysis import CONCLUSION_LAYERS
from assistant.provisions import binding_force
from assistant.records import LAYER_SLOTS, SLOT_NAMES, Analysis, Answer, Evidence, also_called_text

SOURCE_FRAME = "fagui-source"
SOURCE_ROUTE = "/fagui/source"
PAGE_ROUTE = "/fagui/page"

ORIGIN_LABELS = {
    "search": "检索",
    "lookup": "条文查询",
    "xref": "交叉引用",
    "liability-pair": "罚则配对",
    "duty-pair": "义务配对",
    "history": "历史版本",
    "scholarship": "学理观点",
}
#: Titles of the hit list: the evidence of an analysis, or — when the answer is
#: 未找到相关法律依据 although something was retrieved (`assistant.analysis.says_nothing`)
#: — what the search found, which grounds nothing.
EVIDENCE_TITLE = "依据条文"
SEARCHED_TITLE = "检索结果（仅供参考，不构成责任分析的依据）"


def hits_title(answer: Answer) -> str:
    """`EVIDENCE_TITLE`, or `SEARCHED_TITLE` for an answer without a legal basis."""
    return SEARCHED_TITLE if answer.no_legal_basis else EVIDENCE_TITLE


#: 结论 line kinds (`ConclusionLine.kind`) as shown.
CONCLUSION_KINDS = {"duty": "义务", "external": "对外", "internal": "内部", "individual": "个人", "proof": "举证",
                    "remedy": "救济", "handling": "办理期限", "no_basis": "无依据"}
#: What a question asks (`Understanding.intents`: assistant.understanding.INTENTS) as shown.
INTENT_LABELS = {
    "liability": "谁担责", "compensation": "赔偿", "amount": "赔偿数额", "remedy_route": "救济途径",
    "deadline": "期限", "defendant": "告谁 / 向谁主张", "burden_of_proof": "举证责任", "duty": "应当做什么",
    "handling": "对方办理期限",
}
#: Styles of the answer-first blocks; shipped with the card so the card reads the same
#: wherever it is shown (the app, a saved page).
ANSWER_CSS = """<style>
.fagui-card .conclusion{border-left:4px solid #1a7f37;background:#f0fff4;padding:6px 12px;margin:4px 0 10px;border-radius:6px}
.fagui-card .conclusion ol{margin:.2em 0 .2em 1.2em;padding:0}.fagui-card .conclusion li{margin:.25em 0;line-height:1.6}
.fagui-card .ckind{display:inline-block;min-width:2.6em;margin-right:.4em;font-weight:bold;color:#1a7f37}
.fagui-card .conclusion li.no_basis .ckind{color:#cf222e}
.fagui-card .issues{background:#f6f8fa;border-radius:6px;padding:6px 12px;margin:4px 0 10px}
.fagui-card .issues li{margin:.2em 0}.fagui-card .cue{background:#fff8c5;border-radius:3px;padding:0 3px;margin:0 2px}
.fagui-card .no-legal-basis{color:#9a6700;font-weight:bold}
</style>"""

UnitForRef = Callable[[str], "str | None"]


def esc(value) -> str:
    """Escape text for HTML element content and quoted attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


# ------------------------------------------------------------------ terms and highlighting


def query_terms(tokens: Iterable[str]) -> list[str]:
    """Terms worth highlighting: the query's tokens of two or more characters (single
    characters would mark half of every article), unique, longest first."""
    unique = {t.strip() for t in tokens if len(t.strip()) >= 2}
    return sorted(unique, key=lambda t: (-len(t), t))


def highlight(text: str, terms: Sequence[str]) -> str:
    """Escaped `text` with every occurrence of a term wrapped in <mark>.

    Matching runs on the raw text and each piece is escaped separately, so a term can
    never match inside an entity (`&lt;`) and markup in the text stays inert.
    """
    if not terms:
        return esc(text)
    pattern = re.compile("|".join(re.escape(t) for t in sorted(set(terms), key=lambda t: (-len(t), t))), re.IGNORECASE)
    out, position = [], 0
    for match in pattern.finditer(text):
        out.append(esc(text[position : match.start()]))
        out.append(f"<mark>{esc(match.group(0))}</mark>")
        position = match.end()
    out.append(esc(text[position:]))
    return "".join(out)


def matched_terms(text: str, terms: Sequence[str]) -> list[str]:
    """The query terms that occur in a text (case-insensitive), in the terms' order."""
    lowered = text.lower()
    return [t for t in terms if t.lower() in lowered]


def paragraphs(html_text: str) -> str:
    """Line breaks of (already escaped) article text as <br> — 款 start on a new line."""
    return html_text.replace("\n", "<br>")


# ------------------------------------------------------------------ links and badges


def source_href(unit_id: str, collection: str, terms: Sequence[str] = ()) -> str:
    """URL of the source view with the unit anchored (and the query terms highlighted)."""
    query = {"c": collection, "u": unit_id}
    if terms:
        query["q"] = " ".join(terms)
    return f"{SOURCE_ROUTE}?{urlencode(query)}#u-{unit_id}"


def source_link(label: str, unit_id: str | None, collection: str, terms: Sequence[str] = (), css: str = "cite") -> str:
    """An escaped link into the source panel; plain escaped text when the unit is unknown."""
    if not unit_id:
        return f'<span class="{css} unresolved">{esc(label)}</span>'
    href = esc(source_href(unit_id, collection, terms))
    return f'<a class="{css}" href="{href}" target="{SOURCE_FRAME}" data-unit="{esc(unit_id)}">{esc(label)}</a>'


def badge(text: str, kind: str = "") -> str:
    return f'<span class="badge {esc(kind)}">{esc(text)}</span>'


def repealed_label(repealed_by: str, version_date: str = "") -> str:
    """已废止 with the article that repealed the text (`corpus.versions.apply_repeals`) and the
    text's own version date: the one wording of the app's badge and the text export."""
    return f"已废止（{repealed_by}废止{'，' + version_date + '版' if version_date else ''}）"


def status_badge(status: str, version_date: str, repealed_by: str = "") -> str:
    """现行 / 已被修订 / 已废止 with the version date: a superseded text must never look current."""
    date = f" · {version_date}" if version_date else ""
    if repealed_by:
        return badge(repealed_label(repealed_by, version_date), "superseded")
    if status == "current":
        return badge(f"现行有效{date}", "current")
    if status == "superseded":
        return badge(f"已被修订（旧版本{date}）", "superseded")
    return badge(f"{status}{date}", "other")


def doc_badges(doc_type: str, status: str, version_date: str, repealed_by: str = "") -> str:
    return " ".join([badge(doc_type, "doctype"), badge(binding_force(doc_type), "binding"),
                     status_badge(status, version_date, repealed_by)])


def no_basis_mark() -> str:
    return '<span class="nobasis" title="检索到的条文中没有支持此项的依据">无依据</span>'


# ------------------------------------------------------------------ answer


def render_basis(refs: Sequence[str], unit_for_ref: UnitForRef, collection: str, terms: Sequence[str] = ()) -> str:
    if not refs:
        return no_basis_mark()
    return "、".join(source_link(ref, unit_for_ref(ref), collection, terms) for ref in refs)


def conclusion_label(line) -> str:
    """The short label of a 结论 line: its layer (对外 / 内部 / 个人 / 救济), also for a
    无依据 line, whose layer its text names (`救济途径：无依据…`)."""
    kind = line.kind
    if kind == "no_basis":
        kind = next((k for k, name in CONCLUSION_LAYERS.items() if line.text.startswith(name)), kind)
    return CONCLUSION_KINDS.get(kind, kind)


def conclusion_text(answer: Answer) -> list[str]:
    """The 结论 lines as plain text: `[对外] … — 依据 <refs>` (`fagui ask`, the export, the
    LLM prompt; here with `conclusion_label` so the prompt does not import the export)."""
    return [
        f"[{conclusion_label(line)}] {line.text}" + (f" — 依据 {'、'.join(line.basis)}" if line.basis else "")
        for line in answer.analysis.conclusion
    ]


def render_conclusion(answer: Answer, unit_for_ref: UnitForRef, terms: Sequence[str] = ()) -> str:
    """The 结论 block: 3–6 lines, each with its basis links; a layer without support is
    one line marked 无依据."""
    lines = answer.analysis.conclusion
    if not lines:
        return ""
    items = []
    for line in lines:
        text = esc(line.text).replace("无依据", no_basis_mark(), 1) if line.kind == "no_basis" else esc(line.text)
        cite = f' <span class="basis">— 依据 {render_basis(line.basis, unit_for_ref, answer.collection, terms)}</span>' if line.basis else ""
        items.append(f'<li class="{esc(line.kind)}"><span class="ckind">{esc(conclusion_label(line))}</span>'
                     f"{text}{cite}</li>")
    return f'<div class="conclusion"><h4>结论</h4><ol>{"".join(items)}</ol></div>'


def render_understanding(answer: Answer) -> str:
    """识别的法律问题: the recognised issues (name, area, act kinds, the cues that matched),
    what the question asks, its act kinds and place — so a lawyer sees why these
    articles appear."""
    understanding = answer.understanding
    if understanding is None:
        return ""
    items = []
    for issue in understanding.issues:
        kinds = " ".join(badge(kind, "actkind") for kind in issue.act_kinds)
        cues = "".join(f'<span class="cue">{esc(cue)}</span>' for cue in issue.cues)
        area = f' <span class="muted">{esc(issue.area)}</span>' if issue.area else ""
        region = f' <span class="muted">地区：{esc(issue.region)}</span>' if issue.region else ""
        items.append(f"<li><b>{esc(issue.name)}</b>{area}{region} {kinds}"
                     f'<div class="muted">命中线索：{cues or "—"}</div></li>')
    issues = f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">未识别出法律问题图谱中的问题。</p>'
    asks = "、".join(INTENT_LABELS.get(i, i) for i in understanding.intents) or "—"
    kinds = "、".join(understanding.act_kinds) or "—"
    place = f"；地区：{esc(understanding.region)}" if understanding.region else ""
    return (f'<div class="issues"><h4>识别的法律问题</h4>{issues}'
            f'<p class="muted">所问：{esc(asks)}；案由：{esc(kinds)}{place}</p></div>')


def render_no_legal_basis(answer: Answer) -> str:
    """The answer to a question without recognisable legal content: no analysis, only
    未找到相关法律依据 and what was searched."""
    return (f'{ANSWER_CSS}<div class="fagui-card analysis no-analysis"><h3>责任分析 <small>问题：{esc(answer.question)}</small></h3>'
            f'<p class="no-legal-basis">{esc(answer.no_legal_basis)}</p>{render_understanding(answer)}</div>')


def render_analysis(answer: Answer, unit_for_ref: UnitForRef, terms: Sequence[str] = ()) -> str:
    """The responsibility analysis as a card: the 结论 block first, then the recognised
    issues, the scenario, parties table, the four layers (external / internal /
    individual / fault), remedies with time limits. A slot with no supporting article is
    shown as 无依据, never filled in. A question without legal content gets
    `render_no_legal_basis` instead."""
    if answer.no_legal_basis:
        return render_no_legal_basis(answer)
    analysis: Analysis = answer.analysis
    coll = answer.collection
    basis = lambda refs: render_basis(refs, unit_for_ref, coll, terms)  # noqa: E731 — local shorthand
    parts = [ANSWER_CSS, '<div class="fagui-card analysis">', f'<h3>责任分析 <small>问题：{esc(answer.question)}</small></h3>',
             render_conclusion(answer, unit_for_ref, terms), render_understanding(answer)]
    scenario = analysis.scenario or {}
    actors = "、".join(scenario.get("actors", [])) or "—"
    harms = "、".join(scenario.get("harms", [])) or "—"
    relations = "、".join(scenario.get("relations", [])) or "—"
    parts.append(f'<p class="scenario">情形：主体 {esc(actors)}；损害 {esc(harms)}；关系 {esc(relations)}</p>')

    parts.append(f"<h4>{SLOT_NAMES['parties']}</h4>")
    if analysis.parties:
        parts.append('<table class="parties"><thead><tr><th>主体</th><th>角色</th><th>责任类型</th><th>后果</th><th>依据</th></tr></thead><tbody>')
        for party in analysis.parties:
            note = "".join(f'<div class="note">{esc(text)}</div>' for text in (party.note, also_called_text(party)) if text)
            parts.append(
                f"<tr><td>{esc(party.party)}{note}</td><td>{esc(party.role)}</td><td>{badge(party.liability, 'liability')}</td>"
                f"<td>{esc(party.consequence)}</td><td>{basis(party.basis)}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append(f"<p>{no_basis_mark()} 检索到的条文中没有写明责任主体的罚则。</p>")

    parts.append('<h4>责任层次</h4><table class="layers"><tbody>')
    for attr in LAYER_SLOTS:
        name, slots = SLOT_NAMES[attr], getattr(analysis, attr)
        cells = []
        for slot in slots or []:
            label = badge(slot.label, "label") + " " if slot.label else ""
            if slot.no_basis or not slot.statement:
                cells.append(f'<div class="slot">{no_basis_mark()}</div>')
            else:
                cells.append(f'<div class="slot">{label}{esc(slot.statement)} <span class="basis">— 依据 {basis(slot.basis)}</span></div>')
        parts.append(f"<tr><th>{esc(name)}</th><td>{''.join(cells) or no_basis_mark()}</td></tr>")
    parts.append("</tbody></table>")

    parts.append(f"<h4>{SLOT_NAMES['remedies']}</h4>")
    if analysis.remedies:
        parts.append('<table class="remedies"><thead><tr><th>途径</th><th>期限</th><th>依据</th><th>条文</th></tr></thead><tbody>')
        for remedy in analysis.remedies:
            limit = esc(remedy.time_limit) if remedy.time_limit else '<span class="muted">条文未写明期限</span>'
            parts.append(f"<tr><td>{esc(remedy.remedy)}</td><td>{limit}</td><td>{basis(remedy.basis)}</td>"
                         f"<td class=\"detail\">{esc(remedy.detail)}</td></tr>")
        parts.append("</tbody></table>")
    else:
        parts.append(f"<p>{no_basis_mark()}</p>")
    if analysis.removed_references:
        parts.append(f'<p class="warning">已移除无法在索引中核实的引用：{esc("、".join(analysis.removed_references))}</p>')
    parts.append("</div>")
    return "".join(parts)


def render_lookup_messages(answer: Answer) -> str:
    messages = (answer.lookup or {}).get("messages") or []
    if not messages:
        return ""
    return '<div class="fagui-card lookup-msg">' + "".join(f"<p>条文检索：{esc(m)}</p>" for m in messages) + "</div>"


def render_evidence_item(hit: Evidence, collection: str, terms: Sequence[str] = ()) -> str:
    """One ranked hit: title, article, chapter path, badges, highlighted text, source."""
    title = f"《{hit.law}》{hit.article}"
    where = esc(hit.source) + (f" · 第 {esc(hit.page)} 页" if hit.page else "")
    scores = " · ".join(f"{name} {hit.scores[name]:.3f}" for name in ("bm25", "dense", "fused") if hit.scores.get(name) is not None)
    return (
        f'<div class="evidence {esc(hit.status)}" id="hit-{esc(hit.unit_id)}">'
        f'<div class="head"><span class="rank">{hit.rank}</span> {source_link(title, hit.unit_id, collection, terms, "cite title")} '
        f"{doc_badges(hit.doc_type, hit.status, hit.version_date, hit.repealed_by)} {badge(ORIGIN_LABELS.get(hit.origin, hit.origin), 'origin')}</div>"
        f'<div class="chapter">{esc(hit.chapter) or "&nbsp;"}</div>'
        f'<div class="text">{paragraphs(highlight(hit.text, terms))}</div>'
        f'<div class="meta">来源：{where}{(" · 得分 " + esc(scores)) if scores else ""}</div>'
        "</div>"
    )


def render_evidence(answer: Answer, terms: Sequence[str] = ()) -> str:
    """The ranked evidence, then — in a card of its own — the 背景 list (policy documents
    and scholarship ranked apart: context, never a basis of liability)."""
    if not answer.hits:
        return '<div class="fagui-card evidence-list"><p>没有找到相关条文。</p></div>' + render_background(answer, terms)
    items = "".join(render_evidence_item(hit, answer.collection, terms) for hit in answer.hits)
    return (f'<div class="fagui-card evidence-list"><h3>{esc(hits_title(answer))}（{len(answer.hits)}）</h3>{items}</div>'
            + render_background(answer, terms))


def render_background(answer: Answer, terms: Sequence[str] = ()) -> str:
    if not answer.background:
        return ""
    items = "".join(render_evidence_item(hit, answer.collection, terms) for hit in answer.background)
    return (f'<div class="fagui-card background-list"><h3>背景（{len(answer.background)}）'
            f"<small>政策文件与学术文献，供参考，不作为责任依据</small></h3>{items}</div>")


# ------------------------------------------------------------------ retrieval details


def render_retrieval_rows(rows: Sequence[dict], collection: str, terms: Sequence[str]) -> str:
    """BM25 and dense ranks/scores side by side with the final rank and matched terms;
    when the ranking was reranked, the reranker's score and the rank change too.

    Each row: {unit_id, label, bm25_rank, bm25, dense_rank, dense, fused_rank, fused,
    matched, rerank, rank_before} (rerank / rank_before None when not reranked).
    """
    fmt = lambda v, d=3: "—" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))  # noqa: E731
    reranked = any(row.get("rerank") is not None for row in rows)
    extra_head = "<th>重排分</th><th>名次变化</th>" if reranked else ""
    head = ("<tr><th>名次</th><th>条文</th><th>BM25 名次</th><th>BM25 分</th><th>向量名次</th><th>向量分</th>"
            f"<th>RRF 分</th>{extra_head}<th>命中词</th></tr>")
    body = []
    for row in rows:
        matched = "、".join(row.get("matched") or []) or "—"
        extra = f"<td>{fmt(row.get('rerank'), 2)}</td><td>{esc(rank_change(row))}</td>" if reranked else ""
        body.append(
            f"<tr><td>{fmt(row.get('fused_rank'))}</td><td>{source_link(row['label'], row['unit_id'], collection, terms)}</td>"
            f"<td>{fmt(row.get('bm25_rank'))}</td><td>{fmt(row.get('bm25'))}</td>"
            f"<td>{fmt(row.get('dense_rank'))}</td><td>{fmt(row.get('dense'))}</td>"
            f"<td>{fmt(row.get('fused'), 4)}</td>{extra}<td>{esc(matched)}</td></tr>"
        )
    terms_line = "、".join(terms) or "—"
    note = "<p>名次为交叉编码器重排序后的名次；名次变化：重排前 → 重排后。</p>" if reranked else ""
    return (f'<div class="fagui-card details"><p>查询词（分词后）：{esc(terms_line)}</p>{note}'
            f'<table class="details"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table></div>')


def rank_change(row: dict) -> str:
    """`12 → 3 (↑9)` for a reranked row, `—` for one the reranker did not see."""
    before, after = row.get("rank_before"), row.get("fused_rank")
    if before is None or after is None:
        return "—"
    moved = before - after
    arrow = f"↑{moved}" if moved > 0 else (f"↓{-moved}" if moved < 0 else "=")
    return f"{before} → {after} ({arrow})"


# ------------------------------------------------------------------ ingest reports and documents


def _version_note(report) -> str:
    """Where an accepted file stands among the collection's versions, when it is not the text
    searched: a copy of a text already held, an older version, or one another instrument repealed."""
    if report.status == "duplicate":
        return f'<div class="warning">与已有文本相同，检索时使用 {esc(report.duplicate_of)}</div>'
    if report.repealed_by:
        return f'<div class="warning">已被{esc(report.repealed_by)}废止：检索时不使用本文本，仅供查阅历史</div>'
    if report.status == "superseded":
        return '<div class="warning">较早的版本：检索时使用现行版本，本文本仅供查阅历史</div>'
    return ""


def render_reports(reports: Sequence) -> str:
    """Per-file ingest report: accepted (units, pages, warnings) or refused (reason)."""
    rows = []
    for report in reports:
        if report.ok:
            warnings = "".join(f'<div class="warning">⚠ {esc(w)}</div>' for w in report.warnings)
            pages = f"，{report.pages} 页" if report.pages else ""
            rows.append(f'<tr class="ok"><td>{esc(report.path)}</td><td>已接收</td>'
                        f"<td>{esc(report.doc_type)}《{esc(report.title)}》：{report.units} 个条文单元{pages}"
                        f"{_version_note(report)}{warnings}</td></tr>")
        else:
            rows.append(f'<tr class="failed"><td>{esc(report.path)}</td><td>已拒绝</td><td class="error">{esc(report.error)}</td></tr>')
    return ('<div class="fagui-card"><table class="reports"><thead><tr><th>文件</th><th>结果</th><th>说明</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def render_documents(documents: Sequence, collection: str) -> str:
    """The collection's documents with type, status, units and warnings."""
    rows = []
    for doc in sorted(documents, key=lambda d: (d.doc_type, d.title, d.version_date)):
        first = next((u.unit_id for u in doc.units), None)
        warn = "；".join(doc.warnings)
        rows.append(
            f"<tr><td>{source_link(doc.title, first, collection, css='doc')}</td><td>{esc(doc.doc_type)}</td>"
            f"<td>{status_badge(doc.status, doc.version_date, doc.repealed_by)}</td><td>{esc(doc.region)}</td><td>{len(doc.units)}</td>"
            f"<td>{esc(doc.source_path)}</td><td>{esc(warn)}</td></tr>"
        )
    return ('<div class="fagui-card"><table class="documents"><thead><tr><th>标题</th><th>类型</th><th>状态</th><th>地区</th>'
            "<th>单元</th><th>源文件</th><th>警告</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")


# ------------------------------------------------------------------ source view (a page of its own)

SOURCE_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:0;padding:12px;line-height:1.7;color:#1f2328}
h1{font-size:1.25em;margin:.2em 0} .meta{color:#57606a;font-size:.9em}
.badge{display:inline-block;border-radius:4px;padding:0 6px;margin:0 2px;font-size:.8em;background:#eaeef2}
.badge.current{background:#dafbe1;color:#116329}.badge.superseded{background:#ffebe9;color:#a40e26}
.unit{padding:6px 8px;border-left:3px solid transparent;margin:4px 0}
.unit.target,.unit:target{border-left-color:#bf8700;background:#fff8c5}
.heading{font-weight:bold;margin-top:1em}.num{font-weight:bold;margin-right:.4em}
mark{background:#ffd33d}.links{font-size:.9em;background:#f6f8fa;padding:6px 8px;border-radius:6px;margin:6px 0}
.pageimg{max-width:100%;border:1px solid #d0d7de;margin:6px 0}a.xref{color:#0969da}
"""


def render_source_page(doc, target_unit_id: str, collection: str, *, terms: Sequence[str] = (),
                       xrefs=None, page_images: Sequence[tuple[int, str]] = (), unit_for_ref: UnitForRef | None = None) -> str:
    """The whole document with the target unit anchored (`#u-<id>`) and highlighted.

    Article text carries its cross-references as links (spans from `CrossRefIndex`);
    the target unit lists its outgoing and incoming references and the duty ↔
    liability pairs. For PDF sources, `page_images` are `(page, url)` of rendered pages
    with the unit's region marked.
    """
    parts = [
        '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">',
        f"<title>{esc(doc.title)}</title><style>{SOURCE_CSS}</style></head><body>",
        f"<h1>{esc(doc.title)}</h1>",
        f'<div class="meta">{doc_badges(doc.doc_type, doc.status, doc.version_date, doc.repealed_by)} '
        f"{esc(doc.issuer)} {esc(doc.region)} · 源文件 {esc(doc.source_path)}"
        + (f" · {doc.pages} 页" if doc.pages else "") + "</div>",
    ]
    for warning in doc.warnings:
        parts.append(f'<div class="meta">⚠ {esc(warning)}</div>')
    last_path: tuple[str, ...] = ()
    for unit in doc.units:
        path = tuple(unit.path)
        shared = 0
        while shared < min(len(path), len(last_path)) and path[shared] == last_path[shared]:
            shared += 1
        parts.extend(f'<div class="heading">{esc(heading)}</div>' for heading in path[shared:])
        last_path = path
        is_target = unit.unit_id == target_unit_id
        text = _linked_text(unit, xrefs, collection, terms if is_target else ())
        page = f' <span class="meta">p.{unit.page}</span>' if unit.page else ""
        parts.append(
            f'<div class="unit{" target" if is_target else ""}" id="u-{esc(unit.unit_id)}">'
            f'<span class="num">{esc(unit.number)}</span>{paragraphs(text)}{page}</div>'
        )
        if is_target and xrefs is not None:
            parts.append(_link_panel(unit.unit_id, xrefs, collection))
        if is_target:  # the original page(s) right under the anchored unit, region marked
            for page_no, url in page_images:
                parts.append(f'<div class="meta">原件第 {page_no} 页（标出条文位置）</div>'
                             f'<img class="pageimg" alt="第 {page_no} 页" src="{esc(url)}">')
    parts.append("</body></html>")
    return "".join(parts)


def _xref_anchor(unit_id: str, label_html: str, collection: str, target: str) -> str:
    """A link to another unit; `target` names the frame (empty: navigate in place, as
    inside the source view itself)."""
    frame = f' target="{esc(target)}"' if target else ""
    return f'<a class="xref" href="{esc(source_href(unit_id, collection))}"{frame} data-unit="{esc(unit_id)}">{label_html}</a>'


def _linked_text(unit, xrefs, collection: str, terms: Sequence[str], target: str = "") -> str:
    """Unit text with resolved references as links; every piece escaped on its own."""
    refs = []
    if xrefs is not None:
        refs = sorted((r for r in xrefs.outgoing(unit.unit_id) if r.target and r.span[1] <= len(unit.text)),
                      key=lambda r: r.span)
    out, position = [], 0
    for ref in refs:
        start, end = ref.span
        if start < position:
            continue
        out.append(highlight(unit.text[position:start], terms))
        out.append(_xref_anchor(ref.target, highlight(unit.text[start:end], terms), collection, target))
        position = end
    out.append(highlight(unit.text[position:], terms))
    return "".join(out)


def _unit_label(xrefs, unit_id: str) -> str:
    try:
        doc, unit = xrefs.document_of(unit_id), xrefs.unit(unit_id)
    except KeyError:
        return unit_id
    return f"《{doc.title}》{unit.number}"


def _link_panel(unit_id: str, xrefs, collection: str, target: str = "") -> str:
    """Outgoing / incoming references and duty ↔ liability pairs of one article."""
    def links(ids: Iterable[str]) -> str:
        seen = list(dict.fromkeys(ids))
        return "、".join(_xref_anchor(u, esc(_unit_label(xrefs, u)), collection, target) for u in seen) or "—"

    rows = [
        ("引用", links(xrefs.links(unit_id))),
        ("被引用", links(r.source for r in xrefs.incoming(unit_id))),
        ("罚则（违反本条的法律责任）", links(l.liability for l in xrefs.liability_for(unit_id))),
        ("所罚义务", links(l.duty for l in xrefs.duties_for(unit_id))),
    ]
    return '<div class="links">' + "".join(f"<div><b>{esc(name)}：</b>{value}</div>" for name, value in rows) + "</div>"


def render_article(doc, unit, collection: str, xrefs=None, terms: Sequence[str] = ()) -> str:
    """One looked-up article as a card: badges, chapter, text with cross-reference links,
    and its reference panel."""
    title = f"《{doc.title}》{unit.number}"
    where = esc(doc.source_path) + (f" · 第 {unit.page} 页" if unit.page else "")
    panel = _link_panel(unit.unit_id, xrefs, collection, SOURCE_FRAME) if xrefs is not None else ""
    return (
        f'<div class="evidence article" id="art-{esc(unit.unit_id)}"><div class="head">'
        f'{source_link(title, unit.unit_id, collection, terms, "cite title")} {doc_badges(doc.doc_type, doc.status, doc.version_date, doc.repealed_by)}</div>'
        f'<div class="chapter">{esc(" / ".join(unit.path)) or "&nbsp;"}</div>'
        f'<div class="text">{paragraphs(_linked_text(unit, xrefs, collection, terms, SOURCE_FRAME))}</div>'
        f'<div class="meta">来源：{where}</div>{panel}</div>'
    )


# ------------------------------------------------------------------ app page pieces


def notice(text: str) -> str:
    """A one-line message card (empty input, not ready, refused, done)."""
    return f'<div class="fagui-card notice">{esc(text)}</div>'


def plain_page(text: str) -> str:
    """A minimal page of one paragraph (the source view's placeholder and errors)."""
    return f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"></head><body><p>{esc(text)}</p></body></html>'


def source_frame(collection: str) -> str:
    """The side panel: an iframe named `SOURCE_FRAME` that citations open into."""
    return (f'<iframe id="{SOURCE_FRAME}" name="{SOURCE_FRAME}" title="原文" '
            f'src="{SOURCE_ROUTE}?c={esc(collection)}&u="></iframe>')


def timing_line(total_ms: float, mode_note: str) -> str:
    """Under an answer: how long it took and which retrieval answered."""
    return f'<p class="muted">用时 {total_ms:.0f} ms · 模式 {esc(mode_note)}</p>'


def render_lookup_result(result, collection: str, xrefs=None) -> str:
    """The 条文查询 tab: each named article as a card with its older versions as links,
    or why it was not found (with the nearest titles)."""
    parts = []
    for match in result.matches:
        if match.found:
            parts.append(render_article(match.doc, match.unit, collection, xrefs))
            for old in match.history:
                if old.unit is not None:
                    note = "（与现行文本相同）" if old.same_text else ""
                    parts.append(f'<div class="meta">历史版本 {status_badge(old.status, old.version_date, old.repealed_by)}{esc(note)}：'
                                 f'{source_link(old.title + old.unit.number, old.unit.unit_id, collection)}</div>')
        else:
            hint = f"；相近的名称：{'、'.join(match.suggestions)}" if match.suggestions else ""
            parts.append(f'<p class="warning">{esc(match.message or match.status)}{esc(hint)}</p>')
    return '<div class="fagui-card lookup">' + "".join(parts) + "</div>"


def render_build_status(description: str, bars: Sequence[str]) -> str:
    """The status line while this collection's index is being built, with the open bars."""
    detail = "".join(f"<div class='muted'>{esc(line)}</div>" for line in bars)
    return f"<div id='fagui-build'>⏳ {esc(description)}{detail}</div>"


def render_index_status(collection: str, state: str, notes: Sequence[str] = ()) -> str:
    """The status line of a collection: its index state, then notes joined by ` · `."""
    extra = "".join(f" · {esc(note)}" for note in notes)
    return f"<div>文件集 <b>{esc(collection)}</b>：{esc(state)}{extra}</div>"


def render_eval_card(questions: int, evaluated: int, tables_html: str, out_dir) -> str:
    """The evaluation tab's result: counts, the report's tables (`eval.report.summary_html`,
    already HTML) and where the full report was written."""
    return ('<div class="fagui-card metrics">'
            f"<p>{questions} 个问题，{evaluated} 个有可解析的标准答案</p>{tables_html}"
            f"<p class='muted'>报告目录：{esc(out_dir)}</p></div>")
