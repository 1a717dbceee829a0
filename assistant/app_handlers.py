"""The app's event handlers: plain Python over the `Library` of live pipelines.

`FaguiApp` answers every tab of the page (ask, lookup, retrieval details, documents,
evaluation, export) and the source routes with HTML strings built by `assistant.render`;
no Gradio types reach the logic, so tests call the handlers directly. The handlers see a
collection only through `Pipeline`'s public methods (`unit`, `documents`,
`unit_id_for_ref`, `retriever_hits`, …), never its index or tables.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from assistant import render
from assistant.app_auth import loopback_url
from assistant.export import export_answer
from assistant.llm import LLMSettings, configured_server
from assistant.llm_answer import render_rewrite_details, render_written
from assistant.lookup import lookup as run_lookup
from assistant.manage import DEFAULT_MAX_UPLOAD_MB, Library, add_uploads, has_index, upload_limit_bytes
from assistant.pdfpage import render_page, unit_boxes
from assistant.pipeline import rerank_by_default
from corpus.catalog import check_name, load_spec, remove_document
from corpus.config import data_root, fagui_home
from corpus.progress import BOARD

PAGE_LIMIT = 3  # PDF pages shown for one unit in the source view
notice = render.notice


@dataclass
class AppConfig:
    collection: str = "default"
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    progress: bool = True  # progress bars in the terminal (and listed on the page's status line)
    ocr: bool = True
    api_docs: bool = False  # serve /docs, /redoc and /openapi.json (only when asked: `--api-docs`)
    rerank: bool | None = None  # the page's reranking switch starts here (None: the pipeline's default)


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
        return self.library.pipeline(check_name(collection or self.config.collection))

    def _opened(self, text: str | None, collection: str, empty: str):
        """(stripped text, pipeline, problem HTML): the checks every text handler makes
        first — something was typed, the collection has an index — in one place."""
        text = (text or "").strip()
        if not text:
            return text, None, notice(empty)
        pipeline = self._pipeline(collection)
        return text, pipeline, None if pipeline is not None else self._not_ready(collection)

    def _not_ready(self, collection: str) -> str:
        status = self.library.status
        if status.phase == "building" and status.collection == collection:
            return notice(f"{status.describe()} — 完成后即可检索。")
        return notice(f"文件集 {collection} 还没有索引：在“文档管理”中上传文件，或点击“构建索引”。")

    @staticmethod
    def unit_for_ref(pipeline):
        """Resolver of `<law><article>` refs (analysis basis) to unit ids of this index."""
        return pipeline.unit_id_for_ref

    @staticmethod
    def terms_of(pipeline, text: str) -> list[str]:
        return render.query_terms(pipeline.query_tokens(text))

    # -- ask ---------------------------------------------------------------------------

    def ask(self, question: str, collection: str, mode: str = "hybrid", k: int = 10,
            doc_types: list[str] | None = None, region: str = "", statuses: list[str] | None = None,
            llm_base_url: str = "", llm_model: str = "", llm_rewrite: bool = True, llm_write: bool = True,
            rerank: bool | None = None):
        """→ (analysis HTML, evidence HTML, Answer | None). The `llm_*` values come from the
        settings panel (pre-filled from FAGUI_LLM_*); empty = no model, nothing is called.
        `rerank` is the page's reranking switch (None: the pipeline's default)."""
        question, pipeline, problem = self._opened(question, collection, "请输入问题。")
        if problem:
            return problem, "", None
        filters = {"doc_type": doc_types or None, "region": (region or "").strip(), "status": statuses or None}
        try:
            llm, llm_note = self.llm_settings(llm_base_url, llm_model, llm_rewrite, llm_write), ""
        except ValueError as exc:  # a half-filled settings panel: answer without the model, say why
            llm, llm_note = None, notice(f"大模型未使用：{exc}")
        rerank = self.rerank_choice(pipeline, rerank)
        answer = pipeline.ask(question, mode=mode, k=int(k), filters=filters, llm=llm, rerank=rerank)
        terms = self.terms_of(pipeline, question)

        analysis = (llm_note + render_written(answer) + render.render_lookup_messages(answer)
                    + render.render_analysis(answer, self.unit_for_ref(pipeline), terms))
        timing = render.timing_line(answer.timings_ms.get("total", 0), self.retrieval_note(answer, pipeline.collection))
        return analysis + timing, render.render_evidence(answer, terms), answer

    @staticmethod
    def rerank_choice(pipeline, requested: bool | None) -> bool:
        """The page's switch, except that a collection without a reranker answers unreranked
        (the page cannot install one; the retrieval line says which answered)."""
        if requested is None:
            return pipeline.use_rerank(None)
        return bool(requested) and pipeline.reranker is not None

    def rerank_default(self) -> bool:
        """Where the page's reranking switch starts: `fagui serve --rerank/--no-rerank`,
        else on when a reranker is installed and reranking is on by default."""
        if self.config.rerank is not None:
            return self.config.rerank
        return rerank_by_default()

    @staticmethod
    def llm_settings(base_url: str, model: str, rewrite: bool = True, write: bool = True):
        """`assistant.llm.LLMSettings` from the settings panel (timeout from the environment),
        or None when no server is given; ValueError when half-filled. FAGUI_LLM_API_KEY is
        sent only to the configured server, never to a URL typed into the page."""
        url = (base_url or "").strip()
        if not url:
            return None
        if url != configured_server()[0] and not loopback_url(url):
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
        reranked = " + 交叉编码器重排序" if retrieval.get("rerank") else ""
        if not used or used == retrieval.get("requested"):
            return used + reranked
        if retrieval.get("vectors") == "off":
            return f"{used}{reranked}（该索引未构建向量，本次为关键词检索）"
        return f"{used}{reranked}（{self.library.vector_status(collection).fallback_note()}）"

    # -- lookup ------------------------------------------------------------------------

    def lookup(self, text: str, collection: str) -> str:
        """Direct article lookup: each named article with its cross-reference links."""
        text, pipeline, problem = self._opened(text, collection, "请输入条文，例如：数据安全法第四十五条")
        if problem:
            return problem
        result = run_lookup(text, pipeline.lookup)
        if not result.matches:
            return notice("没有识别出条文编号；请写出法名和条号，例如：个人信息保护法第二十一条")
        return render.render_lookup_result(result, pipeline.collection, pipeline.xrefs)

    # -- retrieval details --------------------------------------------------------------

    def details_rows(self, pipeline, question: str, k: int = 10, rerank: bool | None = None) -> tuple[list[dict], list[str]]:
        """BM25 and dense ranks/scores of the union of the top-k of each retriever and
        of the final ranking, ordered by final rank; with reranking, each reranked row
        also has the reranker's score and its rank before reranking."""
        depth = pipeline.retrieval_depth(k)
        own = {name: {h.unit_id: h for h in hits} for name, hits in pipeline.retriever_hits(question, depth).items()}
        bm25, dense = own.get("bm25", {}), own.get("dense", {})
        fused = pipeline.retrieve(question, mode=pipeline.best_mode, k=depth, rerank=self.rerank_choice(pipeline, rerank))
        fused_rank = {uid: (rank, scores) for rank, (uid, scores) in enumerate(fused, start=1)}
        wanted = [uid for uid, _ in fused[:k]]
        wanted += [h.unit_id for h in sorted(bm25.values(), key=lambda h: h.rank)[:k]]
        wanted += [h.unit_id for h in sorted(dense.values(), key=lambda h: h.rank)[:k]]
        terms = self.terms_of(pipeline, question)
        rows = []
        for uid in dict.fromkeys(wanted):
            entry = pipeline.unit(uid)
            if entry is None:
                continue
            doc, unit = entry
            rank, scores = fused_rank.get(uid, (None, {}))
            rows.append({
                "unit_id": uid, "label": f"《{doc.title}》{unit.number}",
                "bm25_rank": bm25[uid].rank if uid in bm25 else None, "bm25": bm25[uid].score if uid in bm25 else None,
                "dense_rank": dense[uid].rank if uid in dense else None, "dense": dense[uid].score if uid in dense else None,
                "fused_rank": rank, "fused": scores.get("fused"), "matched": render.matched_terms(unit.text, terms),
                "rerank": scores.get("rerank"), "rank_before": scores.get("rank_before"),
            })
        rows.sort(key=lambda r: (r["fused_rank"] is None, r["fused_rank"] or 0, r["bm25_rank"] or 10**6, r["unit_id"]))
        return rows, terms

    def details(self, question: str, collection: str, k: int = 10, llm_base_url: str = "", llm_model: str = "",
                llm_rewrite: bool = True, rerank: bool | None = None) -> str:
        question, pipeline, problem = self._opened(question, collection, "请输入问题。")
        if problem:
            return problem
        rows, terms = self.details_rows(pipeline, question, int(k), rerank=rerank)
        table = render.render_retrieval_rows(rows, pipeline.collection, terms)
        try:
            llm = self.llm_settings(llm_base_url, llm_model, llm_rewrite)
        except ValueError as exc:
            return notice(f"大模型未使用：{exc}") + table
        if llm is None or not llm.rewrite:
            return table

        return render_rewrite_details(pipeline, question, int(k), llm, mode=pipeline.best_mode) + table

    # -- documents ---------------------------------------------------------------------

    def documents_html(self, collection: str) -> str:
        pipeline = self._pipeline(collection)
        if pipeline is None:
            return self._not_ready(collection)
        return render.render_documents(pipeline.documents(), pipeline.collection)

    def document_choices(self, collection: str) -> list[tuple[str, str]]:
        pipeline = self._pipeline(collection)
        if pipeline is None:
            return []
        docs = sorted(pipeline.documents(), key=lambda d: (d.title, d.version_date))
        return [(f"{d.title}（{d.version_date or '无日期'}） — {d.source_path}", d.source_path) for d in docs]

    def upload(self, files: list[str] | None, collection: str, progress: bool = True,
               doc_type: str = "") -> tuple[str, str]:
        """Check, store and parse uploads, then update the index and swap it in.
        → (report HTML, status HTML). Queries keep using the old index meanwhile.
        `doc_type` ("" = infer) is the user's type for these files."""
        collection = check_name(collection or self.config.collection)
        paths = [Path(f) for f in files or []]
        if not paths:
            return notice("请选择要上传的文件（PDF、DOCX、TXT、MD）。"), ""
        # Parsing (OCR, a large DOCX) runs outside the upload lock: it touches only private
        # staging copies, and each file is stored by an atomic rename, so other uploads and
        # removals never wait for it. Index builds are serialised under the lock.
        outcome = add_uploads(collection, [(p, p.name) for p in paths], max_bytes=self.max_bytes, ocr=self.config.ocr,
                              doc_type=doc_type or None)
        report_html = render.render_reports(outcome.reports)
        if not outcome.stored:
            return report_html, notice("没有可加入的文件，索引未改变。")
        with self.upload_lock:
            started = time.perf_counter()
            self.library.rebuild(collection, progress=progress)
        took = time.perf_counter() - started
        return report_html, notice(f"已加入 {len(outcome.stored)} 个文件；索引已更新（用时 {took:.1f}s），现在即可检索"
                                   f"（关键词检索；新文本的语义向量在后台补齐）。")

    def remove(self, source_path: str, collection: str, progress: bool = True) -> str:
        collection = check_name(collection or self.config.collection)
        if not source_path:
            return notice("请选择要移除的文档。")
        with self.upload_lock:
            if not remove_document(collection, source_path):
                return notice(f"文件集 {collection} 中没有文档 {source_path}。")
            self.library.rebuild(collection, progress=progress)
        return notice(f"已移除 {source_path}，索引已更新。")

    def build(self, collection: str, progress: bool = True) -> str:
        collection = check_name(collection or self.config.collection)
        with self.upload_lock:
            report = self.library.rebuild(collection, progress=progress)
        return notice(f"索引已构建：{report.documents} 个文档，{report.units} 个单元。" if report else "索引已更新。")

    def status_html(self, collection: str) -> str:
        """One status line: index state of the selected collection and any build running.

        Only this collection's own last build is reported as done or failed; another
        collection's running build is named as such (builds queue behind it)."""
        status = self.library.status
        name = collection or self.config.collection
        if status.phase == "building" and status.collection == name:
            return render.render_build_status(status.describe(), BOARD.lines())
        try:
            ready = has_index(name)
            vectors = self.library.vector_status(name) if ready else None
        except ValueError as exc:
            return notice(str(exc))
        state = "索引就绪" if ready else "尚无索引"
        if vectors is not None and vectors.state != "complete":
            state = f"关键词检索就绪 · {vectors.describe()}"
        own = self.library.status_of(name)
        notes = [own.message] if own.phase in ("ready", "failed") and own.message else []
        if status.phase == "building":
            notes.append(f"另一文件集正在构建索引：{status.collection}")
        return render.render_index_status(collection or "", state, notes)

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(self, question_file: str | None, collection: str, mode: str = "hybrid", limit: int = 20, k: int = 100):
        """Run a question file (JSONL as ../shared/eval, or CSV) → (metrics HTML, plot paths)."""
        # the evaluation stack (ir_measures, the report's plots) loads only when this tab runs
        from eval import load_questions, run_eval
        from eval.report import summary_html

        if not question_file:
            return notice("请上传问题文件（JSONL 或 CSV）。"), []
        pipeline = self._pipeline(collection)
        if pipeline is None:
            return self._not_ready(collection), []
        questions = load_questions(Path(question_file))
        out_dir = fagui_home() / "eval-runs" / f"app-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        result = run_eval(pipeline, questions, mode=mode, k=int(k), out_dir=out_dir, limit=int(limit) if limit else None,
                          progress=False, questions_source=Path(question_file).name)
        plots = [str(out_dir / name) for name in result.metrics.get("files", []) if name.endswith(".png")]
        counts = result.metrics.get("counts", {})
        card = render.render_eval_card(counts.get("questions", 0), counts.get("evaluated", 0),
                                       summary_html(result.metrics, result.questions), out_dir)
        return card, plots

    # -- export ----------------------------------------------------------------------------

    def export(self, answer) -> list[str]:
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
            return 400, render.plain_page(str(exc))
        entry = pipeline.unit(unit_id) if pipeline is not None else None
        if entry is None:
            return 404, render.plain_page(f"没有找到单元 {unit_id}")
        doc, unit = entry
        images = []
        if doc.source_format == "pdf" and unit.page:
            last = min(unit.page_end or unit.page, unit.page + PAGE_LIMIT - 1)

            images = [(p, f"{render.PAGE_ROUTE}?{urlencode({'c': pipeline.collection, 'u': unit_id, 'p': p})}")
                      for p in range(unit.page, last + 1)]
        terms = [t for t in (q or "").split() if t][:30]
        return 200, render.render_source_page(doc, unit_id, pipeline.collection, terms=terms, xrefs=pipeline.xrefs,
                                              page_images=images)

    def page_image(self, collection: str, unit_id: str, page: int) -> bytes:
        """PNG of a PDF page with the unit marked; LookupError when there is none."""
        pipeline = self._pipeline(collection)
        entry = pipeline.unit(unit_id) if pipeline is not None else None
        if entry is None:
            raise LookupError(f"no unit {unit_id}")
        doc, unit = entry
        if doc.source_format != "pdf":
            raise LookupError(f"{doc.source_path} is not a PDF")
        path = source_file(pipeline.collection, doc.source_path)
        boxes = unit_boxes(path, page, unit.text, unit.number, first_page=page == unit.page)
        return render_page(path, page, boxes)


def source_file(collection: str, source_path: str) -> Path:
    """The file behind a document: user uploads under the collection's folder, shipped
    files under data/. Never a path outside those two roots."""
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
