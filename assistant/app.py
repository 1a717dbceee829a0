"""`fagui serve`: the Gradio app over the same `Pipeline` the CLI uses.

One FastAPI application holds three things:

* the Gradio page (ask, article lookup, retrieval details, document management,
  evaluation), mounted at `/`;
* `/fagui/source` — the source view of a unit: the whole document with the unit
  anchored and highlighted and its cross-references as links; rendered in the page's
  side panel (an iframe), so citations are ordinary links;
* `/fagui/page` — a PDF page rendered as PNG with the unit's region marked.

Safety: everything from documents is escaped (`assistant.render`); the source view is
served with a Content-Security-Policy that forbids scripts; uploads are size-limited,
type-checked by content and stored under sanitised names inside FAGUI_HOME; binding to
anything but localhost requires credentials (HTTP Basic on every route, see
`BasicAuthMiddleware`). Queries are answered from the last complete index while an
upload is indexed (`assistant.manage.Library`).
"""
from __future__ import annotations

import base64
import binascii
import html
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant import render
from assistant.manage import (DEFAULT_MAX_UPLOAD_MB, Library, add_uploads, has_index, upload_limit_bytes,
                              upload_limit_text)
from assistant.upload_guard import UploadInbox, UploadPathGuard, UploadRefused
from corpus.config import auth_credentials, set_gradio_temp_dir
from corpus.errors import UsageError
from corpus.records import DOC_TYPES

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
EXAMPLES = [
    "某市政府委托科技公司运维政务数据平台，公司员工泄露了公民个人信息，行政机关和公司分别承担什么责任？",
    "健康码被错误赋为红码导致无法出行，公民可以通过什么途径救济？谁来负责？",
    "交通违法由算法自动识别并自动作出罚款决定，处罚错误时行政机关应承担什么责任？",
    "数据安全法第四十五条",
]
PAGE_LIMIT = 3  # PDF pages shown for one unit in the source view

APP_CSS = """
.fagui-card{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;margin:6px 0;background:#fff;color:#1f2328}
.fagui-card h3{margin:.2em 0 .4em;font-size:1.1em}.fagui-card h3 small{font-weight:normal;color:#57606a;font-size:.8em}
.fagui-card h4{margin:.8em 0 .3em}.fagui-card table{border-collapse:collapse;width:100%;font-size:.9em}
.fagui-card th,.fagui-card td{border:1px solid #d0d7de;padding:4px 6px;vertical-align:top;text-align:left}
.fagui-card th{background:#f6f8fa;white-space:nowrap}
.badge{display:inline-block;border-radius:4px;padding:0 6px;margin:0 2px;font-size:.78em;background:#eaeef2;color:#1f2328}
.badge.current{background:#dafbe1;color:#116329}.badge.superseded{background:#ffebe9;color:#a40e26}
.badge.binding{background:#ddf4ff;color:#0550ae}.badge.origin{background:#fbefff;color:#8250df}
.badge.liability{background:#fff1e5;color:#953800}
.nobasis{display:inline-block;border:1px dashed #cf222e;color:#cf222e;border-radius:4px;padding:0 6px;font-weight:bold}
.evidence{border-top:1px solid #eaeef2;padding:8px 0}.evidence.superseded{opacity:.8}
.evidence .rank{display:inline-block;min-width:1.6em;font-weight:bold;color:#57606a}
.evidence .chapter,.evidence .meta,.note,.muted{color:#57606a;font-size:.85em}
.evidence .text{margin:4px 0;line-height:1.7}mark{background:#ffd33d;color:inherit}
a.cite,a.xref,a.doc{color:#0969da;text-decoration:none}a.cite:hover,a.xref:hover{text-decoration:underline}
.warning{color:#9a6700}.error{color:#cf222e}.links{font-size:.88em;background:#f6f8fa;padding:6px 8px;border-radius:6px}
#fagui-source{width:100%;height:78vh;border:1px solid #d0d7de;border-radius:8px;background:#fff}
#fagui-status{font-size:.9em}
.fagui-card table.parties td:last-child{min-width:10em}
.fagui-card table.documents td:first-child,.fagui-card table.reports td:last-child{min-width:14em}
#fagui-source-col{position:sticky;top:8px;align-self:flex-start}
"""


# ------------------------------------------------------------------ safety pieces


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`user:password` → (user, password); None for empty; ValueError when malformed."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise UsageError("--auth / FAGUI_AUTH must look like user:password")
    return user, password


def check_bind(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse to serve beyond this machine without credentials."""
    if host not in LOCAL_HOSTS and auth is None:
        raise UsageError(f"binding to {host} exposes the app to the network; give --auth user:password (or FAGUI_AUTH)")


class BasicAuthMiddleware:
    """HTTP Basic authentication on every route (page, API, source view, files).

    One check in front of everything, rather than Gradio's login page, so the source
    and page-image routes are protected exactly like the app. Comparison is constant-time.
    """

    def __init__(self, app, user: str, password: str, realm: str = "fagui"):
        self.app = app
        self.expected = base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
        self.realm = realm

    def _authorised(self, scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "basic":
                    return False
                try:
                    base64.b64decode(token, validate=True)
                except (binascii.Error, ValueError):
                    return False
                return secrets.compare_digest(token.strip(), self.expected)
        return False

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"www-authenticate", f'Basic realm="{self.realm}"'.encode()),
                                (b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "http.response.body", "body": "需要登录 / authentication required".encode("utf-8")})


SOURCE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'"


# ------------------------------------------------------------------ the app


@dataclass
class AppConfig:
    collection: str = "default"
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    progress: bool = True  # tqdm bars in the terminal (and mirrored in the page)
    ocr: bool = True
    api_docs: bool = False  # serve /docs, /redoc and /openapi.json (only when asked: `--api-docs`)


class FaguiApp:
    """Event handlers of the page and the source routes; no Gradio types in the logic,
    so handlers are called directly in tests."""

    def __init__(self, config: AppConfig, library: Library | None = None):
        self.config = config
        self.library = library or Library()
        self.upload_lock = threading.Lock()  # one upload batch at a time per process

    @property
    def max_bytes(self) -> int:
        return upload_limit_bytes(self.config.max_upload_mb)

    # -- helpers -----------------------------------------------------------------------

    def _pipeline(self, collection: str):
        from corpus.catalog import check_name

        return self.library.pipeline(check_name(collection or self.config.collection))

    def _not_ready(self, collection: str) -> str:
        status = self.library.status
        if status.phase == "building" and status.collection == collection:
            return _notice(f"{status.describe()} — 完成后即可检索。")
        return _notice(f"文件集 {collection} 还没有索引：在“文档管理”中上传文件，或点击“构建索引”。")

    @staticmethod
    def unit_for_ref(pipeline):
        """Resolver of `<law><article>` refs (analysis basis) to unit ids of this index."""
        from assistant.refs import split_ref

        def resolve(ref: str) -> str | None:
            unit = pipeline.table.refs.get(ref)
            if unit:
                return unit
            parts = split_ref(ref)
            return pipeline.resolve(*parts) if parts else None

        return resolve

    @staticmethod
    def terms_of(pipeline, text: str) -> list[str]:
        return render.query_terms(pipeline.index.segmenter.tokenize(text))

    # -- ask ---------------------------------------------------------------------------

    def ask(self, question: str, collection: str, mode: str = "hybrid", k: int = 10,
            doc_types: list[str] | None = None, region: str = "", statuses: list[str] | None = None,
            llm_base_url: str = "", llm_model: str = "", llm_rewrite: bool = True, llm_write: bool = True):
        """→ (analysis HTML, evidence HTML, Answer | None). The `llm_*` values come from the
        settings panel (pre-filled from FAGUI_LLM_*); empty = no model, nothing is called."""
        question = (question or "").strip()
        if not question:
            return _notice("请输入问题。"), "", None
        pipeline = self._pipeline(collection)
        if pipeline is None:
            return self._not_ready(collection), "", None
        filters = {"doc_type": doc_types or None, "region": (region or "").strip(), "status": statuses or None}
        try:
            llm, llm_note = self.llm_settings(llm_base_url, llm_model, llm_rewrite, llm_write), ""
        except ValueError as exc:  # a half-filled settings panel: answer without the model, say why
            llm, llm_note = None, _notice(f"大模型未使用：{exc}")
        answer = pipeline.ask(question, mode=mode, k=int(k), filters=filters, llm=llm)
        terms = self.terms_of(pipeline, question)
        from assistant.llm_answer import render_written

        analysis = (llm_note + render_written(answer) + render.render_lookup_messages(answer)
                    + render.render_analysis(answer, self.unit_for_ref(pipeline), terms))
        timing = (f'<p class="muted">用时 {answer.timings_ms.get("total", 0):.0f} ms · '
                  f'模式 {html.escape(self.retrieval_note(answer, pipeline.collection))}</p>')
        return analysis + timing, render.render_evidence(answer, terms), answer

    @staticmethod
    def llm_settings(base_url: str, model: str, rewrite: bool = True, write: bool = True):
        """`assistant.llm.LLMSettings` from the settings panel (timeout from the environment),
        or None when no server is given; ValueError when half-filled. FAGUI_LLM_API_KEY is
        sent only to the configured server, never to a URL typed into the page."""
        from assistant.llm import LLMSettings, configured_server

        url = (base_url or "").strip()
        if not url:
            return None
        if url != configured_server()[0] and not _loopback_url(url):
            # The page must not make this server send questions and articles anywhere a
            # visitor types (or probe the intranet): other servers are set at start-up.
            raise ValueError("页面中只能填写本机（127.0.0.1 / localhost）的模型服务；其他地址请在启动时用 FAGUI_LLM_BASE_URL 配置")
        return LLMSettings.resolve(base_url=url, model=(model or "").strip() or None, rewrite=bool(rewrite),
                                   write=bool(write), api_key=None if url == configured_server()[0] else "")

    def retrieval_note(self, answer, collection: str) -> str:
        """The mode that answered; when vectors are missing, why and how far their build is
        (e.g. `bm25（语义检索构建中（43%），本次为关键词检索）`)."""
        retrieval = answer.retrieval or {}
        used = retrieval.get("used", "")
        if not used or used == retrieval.get("requested"):
            return used
        if retrieval.get("vectors") == "off":
            return f"{used}（该索引未构建向量，本次为关键词检索）"
        return f"{used}（{self.library.vector_status(collection).fallback_note()}）"

    # -- lookup ------------------------------------------------------------------------

    def lookup(self, text: str, collection: str) -> str:
        """Direct article lookup: each named article with its cross-reference links."""
        from assistant.lookup import lookup as run_lookup

        text = (text or "").strip()
        if not text:
            return _notice("请输入条文，例如：数据安全法第四十五条")
        pipeline = self._pipeline(collection)
        if pipeline is None:
            return self._not_ready(collection)
        result = run_lookup(text, pipeline.lookup)
        if not result.matches:
            return _notice("没有识别出条文编号；请写出法名和条号，例如：个人信息保护法第二十一条")
        parts = []
        for match in result.matches:
            if match.found:
                parts.append(render.render_article(match.doc, match.unit, pipeline.collection, pipeline.xrefs))
                for old in match.history:
                    if old.unit is not None:
                        note = "（与现行文本相同）" if old.same_text else ""
                        parts.append(f'<div class="meta">历史版本 {render.status_badge(old.status, old.version_date)}{html.escape(note)}：'
                                     f'{render.source_link(old.title + old.unit.number, old.unit.unit_id, pipeline.collection)}</div>')
            else:
                hint = f"；相近的名称：{'、'.join(match.suggestions)}" if match.suggestions else ""
                parts.append(f'<p class="warning">{render.esc(match.message or match.status)}{render.esc(hint)}</p>')
        return '<div class="fagui-card lookup">' + "".join(parts) + "</div>"

    # -- retrieval details --------------------------------------------------------------

    def details_rows(self, pipeline, question: str, k: int = 10) -> tuple[list[dict], list[str]]:
        """BM25 and dense ranks/scores of the union of the top-k of each retriever and
        of the fusion, ordered by fused rank."""
        depth = max(100, k * 3)
        bm25 = {h.unit_id: h for h in pipeline.index.search_bm25(question, depth)}
        dense = {h.unit_id: h for h in pipeline.index.search_dense(question, depth)} if pipeline.index.dense else {}
        mode = "hybrid" if pipeline.index.dense else "bm25"
        fused = pipeline.retrieve(question, mode=mode, k=depth)
        fused_rank = {uid: (rank, scores.get("fused")) for rank, (uid, scores) in enumerate(fused, start=1)}
        wanted = [uid for uid, _ in fused[:k]]
        wanted += [h.unit_id for h in sorted(bm25.values(), key=lambda h: h.rank)[:k]]
        wanted += [h.unit_id for h in sorted(dense.values(), key=lambda h: h.rank)[:k]]
        terms = self.terms_of(pipeline, question)
        rows = []
        for uid in dict.fromkeys(wanted):
            if uid not in pipeline.table.units:
                continue
            doc, unit = pipeline.table.units[uid]
            rank, fused_score = fused_rank.get(uid, (None, None))
            rows.append({
                "unit_id": uid, "label": f"《{doc.title}》{unit.number}",
                "bm25_rank": bm25[uid].rank if uid in bm25 else None, "bm25": bm25[uid].score if uid in bm25 else None,
                "dense_rank": dense[uid].rank if uid in dense else None, "dense": dense[uid].score if uid in dense else None,
                "fused_rank": rank, "fused": fused_score, "matched": render.matched_terms(unit.text, terms),
            })
        rows.sort(key=lambda r: (r["fused_rank"] is None, r["fused_rank"] or 0, r["bm25_rank"] or 10**6, r["unit_id"]))
        return rows, terms

    def details(self, question: str, collection: str, k: int = 10, llm_base_url: str = "", llm_model: str = "",
                llm_rewrite: bool = True) -> str:
        question = (question or "").strip()
        if not question:
            return _notice("请输入问题。")
        pipeline = self._pipeline(collection)
        if pipeline is None:
            return self._not_ready(collection)
        rows, terms = self.details_rows(pipeline, question, int(k))
        table = render.render_retrieval_rows(rows, pipeline.collection, terms)
        try:
            llm = self.llm_settings(llm_base_url, llm_model, llm_rewrite)
        except ValueError as exc:
            return _notice(f"大模型未使用：{exc}") + table
        if llm is None or not llm.rewrite:
            return table
        from assistant.llm_answer import render_rewrite_details

        mode = "hybrid" if pipeline.index.dense else "bm25"
        return render_rewrite_details(pipeline, question, int(k), llm, mode=mode) + table

    # -- documents ---------------------------------------------------------------------

    def documents_html(self, collection: str) -> str:
        pipeline = self._pipeline(collection)
        if pipeline is None:
            return self._not_ready(collection)
        return render.render_documents(list(pipeline.table.documents.values()), pipeline.collection)

    def document_choices(self, collection: str) -> list[tuple[str, str]]:
        pipeline = self._pipeline(collection)
        if pipeline is None:
            return []
        docs = sorted(pipeline.table.documents.values(), key=lambda d: (d.title, d.version_date))
        return [(f"{d.title}（{d.version_date or '无日期'}） — {d.source_path}", d.source_path) for d in docs]

    def upload(self, files: list[str] | None, collection: str, progress: bool = True,
               doc_type: str = "") -> tuple[str, str]:
        """Check, store and parse uploads, then update the index and swap it in.
        → (report HTML, status HTML). Queries keep using the old index meanwhile.
        `doc_type` ("" = infer) is the user's type for these files."""
        from corpus.catalog import check_name

        collection = check_name(collection or self.config.collection)
        paths = [Path(f) for f in files or []]
        if not paths:
            return _notice("请选择要上传的文件（PDF、DOCX、TXT、MD）。"), ""
        # Parsing (OCR, a large DOCX) runs outside the upload lock: it touches only private
        # staging copies, and each file is stored by an atomic rename, so other uploads and
        # removals never wait for it. Index builds are serialised under the lock.
        outcome = add_uploads(collection, [(p, p.name) for p in paths], max_bytes=self.max_bytes, ocr=self.config.ocr,
                              doc_type=doc_type or None)
        report_html = render.render_reports(outcome.reports)
        if not outcome.stored:
            return report_html, _notice("没有可加入的文件，索引未改变。")
        with self.upload_lock:
            started = time.perf_counter()
            build = self.library.rebuild(collection, progress=progress)
        took = time.perf_counter() - started
        return report_html, _notice(f"已加入 {len(outcome.stored)} 个文件；索引已更新（用时 {took:.1f}s），现在即可检索"
                                    f"（关键词检索；新文本的语义向量在后台补齐）。")

    def remove(self, source_path: str, collection: str, progress: bool = True) -> str:
        from corpus.catalog import check_name, remove_document

        collection = check_name(collection or self.config.collection)
        if not source_path:
            return _notice("请选择要移除的文档。")
        with self.upload_lock:
            if not remove_document(collection, source_path):
                return _notice(f"文件集 {collection} 中没有文档 {source_path}。")
            self.library.rebuild(collection, progress=progress)
        return _notice(f"已移除 {source_path}，索引已更新。")

    def build(self, collection: str, progress: bool = True) -> str:
        from corpus.catalog import check_name

        collection = check_name(collection or self.config.collection)
        with self.upload_lock:
            report = self.library.rebuild(collection, progress=progress)
        return _notice(f"索引已构建：{report.documents} 个文档，{report.units} 个单元。" if report else "索引已更新。")

    def status_html(self, collection: str) -> str:
        """One status line: index state of the selected collection and any build running.

        Only this collection's own last build is reported as done or failed; another
        collection's running build is named as such (builds queue behind it)."""
        status = self.library.status
        name = collection or self.config.collection
        if status.phase == "building" and status.collection == name:
            bars = _progress_lines()
            detail = "".join(f"<div class='muted'>{html.escape(line)}</div>" for line in bars)
            return f"<div id='fagui-build'>⏳ {html.escape(status.describe())}{detail}</div>"
        try:
            ready = has_index(collection or self.config.collection)
            vectors = self.library.vector_status(collection or self.config.collection) if ready else None
        except ValueError as exc:
            return _notice(str(exc))
        state = "索引就绪" if ready else "尚无索引"
        if vectors is not None and vectors.state != "complete":
            state = f"关键词检索就绪 · {vectors.describe()}"
        own = self.library.status_of(name)
        extra = f" · {html.escape(own.message)}" if own.phase in ("ready", "failed") and own.message else ""
        if status.phase == "building":
            extra += f" · 另一文件集正在构建索引：{html.escape(status.collection)}"
        return f"<div>文件集 <b>{html.escape(collection or '')}</b>：{html.escape(state)}{extra}</div>"

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(self, question_file: str | None, collection: str, mode: str = "hybrid", limit: int = 20, k: int = 100):
        """Run a question file (JSONL as ../shared/eval, or CSV) → (metrics HTML, plot paths)."""
        from corpus.catalog import fagui_home
        from eval import load_questions, run_eval

        if not question_file:
            return _notice("请上传问题文件（JSONL 或 CSV）。"), []
        pipeline = self._pipeline(collection)
        if pipeline is None:
            return self._not_ready(collection), []
        questions = load_questions(Path(question_file))
        out_dir = fagui_home() / "eval-runs" / f"app-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        result = run_eval(pipeline, questions, mode=mode, k=int(k), out_dir=out_dir, limit=int(limit) if limit else None,
                          progress=False, questions_source=Path(question_file).name)
        plots = [str(out_dir / name) for name in result.metrics.get("files", []) if name.endswith(".png")]
        return render_metrics(result.metrics, out_dir), plots

    # -- export ----------------------------------------------------------------------------

    def export(self, answer) -> list[str]:
        from assistant.export import export_answer
        from corpus.catalog import fagui_home

        if answer is None:
            return []
        md, docx = export_answer(answer, fagui_home() / "exports" / uuid.uuid4().hex[:12])
        return [str(md), str(docx)]

    # -- source view routes ----------------------------------------------------------------

    def source_page(self, collection: str, unit_id: str, q: str = "") -> tuple[int, str]:
        """(status, HTML) of the source view of one unit."""
        try:
            pipeline = self._pipeline(collection)
        except ValueError as exc:
            return 400, _plain_page(str(exc))
        if pipeline is None or unit_id not in pipeline.table.units:
            return 404, _plain_page(f"没有找到单元 {unit_id}")
        doc, unit = pipeline.table.units[unit_id]
        images = []
        if doc.source_format == "pdf" and unit.page:
            last = min(unit.page_end or unit.page, unit.page + PAGE_LIMIT - 1)
            from urllib.parse import urlencode

            images = [(p, f"{render.PAGE_ROUTE}?{urlencode({'c': pipeline.collection, 'u': unit_id, 'p': p})}")
                      for p in range(unit.page, last + 1)]
        terms = [t for t in (q or "").split() if t][:30]
        return 200, render.render_source_page(doc, unit_id, pipeline.collection, terms=terms, xrefs=pipeline.xrefs,
                                              page_images=images)

    def page_image(self, collection: str, unit_id: str, page: int) -> bytes:
        """PNG of a PDF page with the unit marked; LookupError when there is none."""
        from assistant.pdfpage import render_page, unit_boxes

        pipeline = self._pipeline(collection)
        if pipeline is None or unit_id not in pipeline.table.units:
            raise LookupError(f"no unit {unit_id}")
        doc, unit = pipeline.table.units[unit_id]
        if doc.source_format != "pdf":
            raise LookupError(f"{doc.source_path} is not a PDF")
        path = source_file(pipeline.collection, doc.source_path)
        boxes = unit_boxes(path, page, unit.text, unit.number, first_page=page == unit.page)
        return render_page(path, page, boxes)


def _loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is this machine's loopback (127.0.0.0/8, ::1, localhost)."""
    import ipaddress
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def source_file(collection: str, source_path: str) -> Path:
    """The file behind a document: user uploads under the collection's folder, shipped
    files under data/. Never a path outside those two roots."""
    from corpus.catalog import data_root, load_spec

    spec = load_spec(collection)
    for root in (spec.state_dir, data_root()):
        candidate = (root / source_path).resolve()
        try:
            candidate.relative_to(root.resolve())
        except ValueError:
            continue
        if candidate.is_file():
            return candidate
    raise LookupError(f"source file {source_path} not found")


def _notice(text: str) -> str:
    return f'<div class="fagui-card notice">{html.escape(text)}</div>'


def _plain_page(text: str) -> str:
    return f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"></head><body><p>{html.escape(text)}</p></body></html>'


def _progress_lines() -> list[str]:
    """Active tqdm bars (description, count, total) — the terminal's bars, for the page."""
    from tqdm import tqdm

    lines = []
    for bar in list(getattr(tqdm, "_instances", [])):
        total = getattr(bar, "total", None)
        count = getattr(bar, "n", 0)
        pct = f" {100 * count / total:.0f}%" if total else ""
        lines.append(f"{getattr(bar, 'desc', '') or '进度'}: {count}/{total or '?'}{pct}")
    return lines


def render_metrics(metrics: dict[str, Any], out_dir: Path) -> str:
    """Metrics table of an evaluation run: retrieval metrics, per kind, citations, latency."""
    fmt = lambda v: "—" if v is None else (f"{v:.3f}" if isinstance(v, float) else html.escape(str(v)))  # noqa: E731
    rows = "".join(f"<tr><th>{html.escape(name)}</th><td>{fmt(value)}</td></tr>" for name, value in metrics.get("retrieval", {}).items())
    kinds = "".join(
        f"<tr><td>{html.escape(kind)}</td><td>{info.get('evaluated')}</td><td>{fmt(info.get('recall@10'))}</td>"
        f"<td>{fmt(info.get('mrr@10'))}</td><td>{fmt(info.get('ndcg@10'))}</td></tr>"
        for kind, info in metrics.get("by_kind", {}).items()
    )
    cit, par, lat = metrics.get("citations", {}), metrics.get("liable_parties", {}), metrics.get("latency", {})
    counts = metrics.get("counts", {})
    return (
        '<div class="fagui-card metrics">'
        f"<p>{counts.get('questions', 0)} 个问题，{counts.get('evaluated', 0)} 个有可解析的标准答案；"
        f"引用有效率 {fmt(cit.get('validity'))}；责任主体覆盖率 {fmt(par.get('coverage'))}；"
        f"延迟 p50 {fmt(lat.get('p50_ms'))} ms，p95 {fmt(lat.get('p95_ms'))} ms</p>"
        f'<table class="metrics"><tbody>{rows}</tbody></table>'
        '<h4>按问题类型</h4><table><thead><tr><th>类型</th><th>n</th><th>recall@10</th><th>mrr@10</th><th>ndcg@10</th></tr></thead>'
        f"<tbody>{kinds}</tbody></table><p class='muted'>报告目录：{html.escape(str(out_dir))}</p></div>"
    )


# ------------------------------------------------------------------ Gradio page


def llm_panel(gr):
    """The settings panel of the optional model server (pre-filled from FAGUI_LLM_*):
    base URL, model, and switches for rewriting and the written answer."""
    from assistant.llm import configured_server

    base_url, model = configured_server()
    with gr.Accordion("大模型设置（可选，OpenAI 兼容接口）", open=False):
        gr.Markdown("留空则不调用任何模型。只发送问题和检索到的条文；API key 只从环境变量 FAGUI_LLM_API_KEY 读取。")
        with gr.Row():
            url = gr.Textbox(value=base_url, label="服务地址", placeholder="http://127.0.0.1:8000/v1", elem_id="fagui-llm-url")
            name = gr.Textbox(value=model, label="模型", placeholder="qwen2.5-7b-instruct", elem_id="fagui-llm-model")
        with gr.Row():
            rewrite = gr.Checkbox(value=True, label="检索前改写问题（法律用语）", elem_id="fagui-llm-rewrite")
            write = gr.Checkbox(value=True, label="模型撰写回答（引用逐条核验）", elem_id="fagui-llm-write")
    return url, name, rewrite, write


def build_blocks(app: FaguiApp, inbox: UploadInbox):
    """The page: tabs on the left, the source view (iframe) on the right.

    File inputs reach the handlers only through `received`: a path that is not an upload
    in this process's inbox is refused (issue 11, F1), and every upload copy is deleted
    once handled."""
    import gradio as gr
    from corpus.catalog import list_collections

    collections = sorted(set(list_collections()) | {app.config.collection})
    # Upload copies are deleted as soon as a handler is done (UploadInbox.discard); the
    # hourly sweep only catches uploads that were never submitted to a handler.
    with gr.Blocks(title="法规检索助手 fagui", delete_cache=(3600, 3600)) as demo:
        answer_state = gr.State(None)
        with gr.Row():
            gr.HTML("<h2 style='margin:0'>法规检索助手 · 数字政府问责</h2>")
            collection = gr.Dropdown(collections, value=app.config.collection, label="文件集（可输入新名称）", allow_custom_value=True,
                                     elem_id="fagui-collection", scale=0, min_width=200)
        status = gr.HTML(app.status_html(app.config.collection), elem_id="fagui-status")
        timer = gr.Timer(1.0)
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Tabs():
                    with gr.Tab("问答", id="ask"):
                        question = gr.Textbox(label="问题", lines=2, placeholder="例如：受托企业泄露政务数据，谁承担责任？",
                                              elem_id="fagui-question")
                        gr.Examples(EXAMPLES, inputs=question, label="示例问题")
                        with gr.Accordion("检索设置与筛选", open=False):
                            with gr.Row():
                                mode = gr.Radio(["hybrid", "bm25", "dense"], value="hybrid", label="检索模式")
                                k = gr.Slider(3, 30, value=10, step=1, label="检索条数")
                            with gr.Row():
                                doc_types = gr.Dropdown(list(DOC_TYPES), multiselect=True, label="文件类型")
                                region = gr.Textbox(label="地区（包含）", placeholder="如：广东省")
                                statuses = gr.CheckboxGroup(["current", "superseded"], label="版本状态")
                        llm_url, llm_model, llm_rewrite, llm_write = llm_panel(gr)
                        ask_btn = gr.Button("提问", variant="primary", elem_id="fagui-ask")
                        analysis_html = gr.HTML(elem_id="fagui-analysis")
                        evidence_html = gr.HTML(elem_id="fagui-evidence")
                        with gr.Row():
                            export_btn = gr.Button("导出 Markdown / DOCX", elem_id="fagui-export", scale=1)
                            export_files = gr.File(label="导出文件", file_count="multiple", interactive=False,
                                                   elem_id="fagui-export-files", height=120, scale=2)
                    with gr.Tab("条文查询", id="lookup"):
                        lookup_text = gr.Textbox(label="条文", placeholder="数据安全法第四十五条", elem_id="fagui-lookup-text")
                        lookup_btn = gr.Button("查询", variant="primary", elem_id="fagui-lookup")
                        lookup_html = gr.HTML(elem_id="fagui-lookup-result")
                    with gr.Tab("检索详情", id="details"):
                        details_q = gr.Textbox(label="问题", lines=2, elem_id="fagui-details-question")
                        details_btn = gr.Button("显示 BM25 / 向量得分", elem_id="fagui-details")
                        details_html = gr.HTML(elem_id="fagui-details-result")
                    with gr.Tab("文档管理", id="manage"):
                        uploads = gr.File(label=f"上传 PDF / DOCX / TXT / MD（每个 ≤ {upload_limit_text(app.max_bytes)}）",
                                          file_count="multiple", file_types=[".pdf", ".docx", ".txt", ".md"], type="filepath",
                                          elem_id="fagui-upload")
                        upload_type = gr.Dropdown([("自动判断（有依据才定为有约束力的类型）", "")] + list(DOC_TYPES), value="",
                                                  label="文件类型", elem_id="fagui-upload-type")
                        with gr.Row():
                            upload_btn = gr.Button("加入文件集并更新索引", variant="primary", elem_id="fagui-upload-btn")
                            build_btn = gr.Button("构建 / 更新索引", elem_id="fagui-build-btn")
                        upload_report = gr.HTML(elem_id="fagui-upload-report")
                        upload_status = gr.HTML(elem_id="fagui-upload-status")
                        with gr.Row():
                            remove_choice = gr.Dropdown([], label="移除文档", elem_id="fagui-remove-choice")
                            remove_btn = gr.Button("移除", variant="stop", elem_id="fagui-remove-btn")
                        docs_html = gr.HTML(elem_id="fagui-documents")
                    with gr.Tab("评估", id="eval"):
                        eval_file = gr.File(label="问题文件（JSONL，与 ../shared/eval 同格式；或 CSV）", type="filepath",
                                            file_types=[".jsonl", ".csv"], elem_id="fagui-eval-file")
                        with gr.Row():
                            eval_mode = gr.Radio(["hybrid", "bm25", "dense"], value="hybrid", label="检索模式")
                            eval_limit = gr.Number(value=20, precision=0, label="最多问题数")
                        eval_btn = gr.Button("运行评估", variant="primary", elem_id="fagui-eval-btn")
                        eval_html = gr.HTML(elem_id="fagui-eval-result")
                        eval_plots = gr.Gallery(label="图表", columns=3, height="auto", elem_id="fagui-eval-plots")
            with gr.Column(scale=2, elem_id="fagui-source-col"):
                gr.HTML(f'<iframe id="{render.SOURCE_FRAME}" name="{render.SOURCE_FRAME}" title="原文" '
                        f'src="{render.SOURCE_ROUTE}?c={html.escape(app.config.collection)}&u="></iframe>')

        def do_ask(q, coll, m, kk, dt, rg, st, url, model, rewrite, write):
            return app.ask(q, coll, m, kk, dt, rg, st, url, model, rewrite, write)

        def do_details(q, coll, url, model, rewrite):
            return app.details(q, coll, 10, url, model, rewrite)

        def received(paths) -> list[str]:
            return [str(inbox.accept(p)) for p in paths or []]

        def do_upload(files, coll, doc_type, progress=gr.Progress(track_tqdm=True)):
            try:
                report, note = app.upload(received(files), coll, progress=True, doc_type=doc_type)
            except UploadRefused as exc:
                report, note = _notice(str(exc)), _notice("索引未改变。")
            finally:
                for path in files or []:
                    inbox.discard(path)
            return report, note, app.documents_html(coll), gr.update(choices=app.document_choices(coll)), None

        def do_evaluate(question_file, coll, m, limit):
            try:
                accepted = received([question_file] if question_file else [])
                return app.evaluate(accepted[0] if accepted else None, coll, m, limit)
            except UploadRefused as exc:
                return _notice(str(exc)), []
            finally:
                if question_file:
                    inbox.discard(question_file)

        def do_remove(path, coll, progress=gr.Progress(track_tqdm=True)):
            note = app.remove(path, coll, progress=True)
            return note, app.documents_html(coll), gr.update(choices=app.document_choices(coll), value=None)

        def do_build(coll, progress=gr.Progress(track_tqdm=True)):
            note = app.build(coll, progress=True)
            return note, app.documents_html(coll), gr.update(choices=app.document_choices(coll))

        def on_collection(coll):
            try:
                docs, choices = app.documents_html(coll), app.document_choices(coll)
            except ValueError as exc:  # a typed name that cannot be a collection
                return _notice(str(exc)), "", gr.update(choices=[], value=None), "", ""
            return app.status_html(coll), docs, gr.update(choices=choices, value=None), "", ""

        ask_inputs = [question, collection, mode, k, doc_types, region, statuses, llm_url, llm_model, llm_rewrite, llm_write]
        ask_btn.click(do_ask, ask_inputs, [analysis_html, evidence_html, answer_state], concurrency_limit=4)
        question.submit(do_ask, ask_inputs, [analysis_html, evidence_html, answer_state], concurrency_limit=4)
        export_btn.click(app.export, [answer_state], [export_files])
        lookup_btn.click(app.lookup, [lookup_text, collection], [lookup_html], concurrency_limit=4)
        lookup_text.submit(app.lookup, [lookup_text, collection], [lookup_html], concurrency_limit=4)
        details_btn.click(do_details, [details_q, collection, llm_url, llm_model, llm_rewrite], [details_html],
                          concurrency_limit=4)
        upload_btn.click(do_upload, [uploads, collection, upload_type], [upload_report, upload_status, docs_html, remove_choice, uploads])
        remove_btn.click(do_remove, [remove_choice, collection], [upload_status, docs_html, remove_choice])
        build_btn.click(do_build, [collection], [upload_status, docs_html, remove_choice])
        eval_btn.click(do_evaluate, [eval_file, collection, eval_mode, eval_limit], [eval_html, eval_plots])
        collection.change(on_collection, [collection], [status, docs_html, remove_choice, analysis_html, evidence_html])
        timer.tick(app.status_html, [collection], [status], show_progress="hidden", queue=False)
        demo.load(on_collection, [collection], [status, docs_html, remove_choice, analysis_html, evidence_html])
    return demo


def create_app(config: AppConfig, *, auth: tuple[str, str] | None = None, library: Library | None = None):
    """The FastAPI application: source routes plus the Gradio page at `/`."""
    import gradio as gr
    from fastapi import FastAPI, Query
    from fastapi.responses import HTMLResponse, Response

    from corpus.catalog import fagui_home

    handlers = FaguiApp(config, library)
    docs = {} if config.api_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    api = FastAPI(title="fagui", **docs)

    @api.get(render.SOURCE_ROUTE)
    def source_view(c: str = Query(config.collection), u: str = Query(""), q: str = Query("")):
        if not u:
            code, page = 200, _plain_page("点击引用或检索结果，在此查看原文。")
        else:
            code, page = handlers.source_page(c, u, q)
        return HTMLResponse(page, status_code=code, headers={"Content-Security-Policy": SOURCE_CSP,
                                                              "X-Content-Type-Options": "nosniff"})

    @api.get(render.PAGE_ROUTE)
    def page_view(c: str = Query(...), u: str = Query(...), p: int = Query(..., ge=1)):
        try:
            png = handlers.page_image(c, u, p)
        except (LookupError, ValueError) as exc:
            return Response(str(exc), status_code=404, media_type="text/plain; charset=utf-8")
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    home = fagui_home()
    # Gradio reads its upload folder from GRADIO_TEMP_DIR when components and the mounted
    # app are created, so it is set here, before either exists: uploads stay inside
    # FAGUI_HOME, in a folder only this process uses.
    inbox = UploadInbox(home / "tmp")
    set_gradio_temp_dir(inbox.folder)
    blocks = build_blocks(handlers, inbox)
    blocks.queue(default_concurrency_limit=1)
    for sub in ("exports", "eval-runs"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    api = gr.mount_gradio_app(
        api, blocks, path="/", css=APP_CSS, footer_links=[],
        allowed_paths=[str(home / "exports"), str(home / "eval-runs")],
        max_file_size=handlers.max_bytes,  # Gradio's own check: the same limit as the label and refusal
        app_kwargs=dict(docs),  # Gradio's own app serves /openapi.json unless told not to
    )
    api.state.fagui = handlers
    guarded = UploadPathGuard(api, inbox)
    if auth is not None:
        return BasicAuthMiddleware(guarded, *auth)
    return guarded


# ------------------------------------------------------------------ running


class ServerThread:
    """uvicorn in a background thread (tests, and anything embedding the app)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 7860):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="fagui-server", daemon=True)
        self.url = f"http://{host}:{port}"

    def start(self, timeout: float = 30.0) -> "ServerThread":
        self.thread.start()
        deadline = time.time() + timeout
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def serve(collection: str = "default", host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
          max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB, progress: bool = True, api_docs: bool = False) -> None:
    """Start the app; on a fresh machine the collection's index is built first, in the
    background, with bars in the terminal and the status line in the page."""
    import uvicorn

    credentials = parse_auth(auth if auth is not None else auth_credentials())
    check_bind(host, credentials)
    config = AppConfig(collection=collection, max_upload_mb=max_upload_mb, progress=progress, api_docs=api_docs)
    library = Library()
    # The app first: building the page makes Gradio patch tqdm (for its progress bars),
    # and a bar created before that patch fails when it is closed after it.
    app = create_app(config, auth=credentials, library=library)
    started = library.start(collection, progress=progress)
    if started == "building":
        print(f"collection {collection!r} has no index yet: building it now, BM25 first, then the vectors in the "
              "background (the page shows the progress)")
    elif started == "vectors":
        print(f"collection {collection!r}: answering by BM25 while its vectors are embedded in the background")
    print(f"fagui serving collection {collection!r} at http://{host}:{port}" + (" (login required)" if credentials else ""))
    uvicorn.run(app, host=host, port=port, log_level="warning")
