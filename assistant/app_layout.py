"""The Gradio page of `fagui serve`: tabs on the left, the source view on the right.

Each tab is built by its own function returning a small record of its components
(`AskTab`, `ManageTab`, …); `gradio_callbacks` adapts the Gradio callbacks to the plain
handlers of `assistant.app_handlers.FaguiApp`; `wire_events` connects buttons to
callbacks. A new control is one field in its tab's record, one line where the tab is
built and one line in `wire_events`.

File inputs reach the handlers only through `received` (in `gradio_callbacks`): a path that is not an
upload in this process's inbox is refused (issue 11, F1), and every upload copy is
deleted once handled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant import render
from assistant.app_handlers import FaguiApp
from assistant.llm import configured_server
from assistant.manage import upload_limit_text
from assistant.pipeline import RERANK_DEPTH
from assistant.protocol import DEFAULT_MODE, MODES
from assistant.upload_guard import UploadInbox, UploadRefused
from corpus.catalog import list_collections
from corpus.records import DOC_TYPES

EXAMPLES = [
    "某市政府委托科技公司运维政务数据平台，公司员工泄露了公民个人信息，行政机关和公司分别承担什么责任？",
    "健康码被错误赋为红码导致无法出行，公民可以通过什么途径救济？谁来负责？",
    "交通违法由算法自动识别并自动作出罚款决定，处罚错误时行政机关应承担什么责任？",
    "数据安全法第四十五条",
]
RETRIEVAL_MODES = list(MODES)  # as offered on the page, the default first (assistant.protocol)
ANSWER_CONCURRENCY = 4  # questions, lookups and details answered at once (uploads: one at a time)

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


# ------------------------------------------------------------------ the tabs' components


@dataclass
class LLMPanel:
    url: Any
    model: Any
    rewrite: Any
    write: Any


@dataclass
class AskTab:
    question: Any
    mode: Any
    k: Any
    doc_types: Any
    region: Any
    statuses: Any
    rerank: Any
    llm: LLMPanel
    ask_btn: Any
    analysis_html: Any
    evidence_html: Any
    export_btn: Any
    export_files: Any


@dataclass
class LookupTab:
    text: Any
    button: Any
    result: Any


@dataclass
class DetailsTab:
    question: Any
    button: Any
    result: Any


@dataclass
class ManageTab:
    uploads: Any
    upload_type: Any
    upload_btn: Any
    build_btn: Any
    upload_report: Any
    upload_status: Any
    remove_choice: Any
    remove_btn: Any
    docs_html: Any


@dataclass
class EvalTab:
    file: Any
    mode: Any
    limit: Any
    button: Any
    result: Any
    plots: Any


@dataclass
class Page:
    """Every component an event reads or writes."""

    answer_state: Any
    collection: Any
    status: Any
    timer: Any
    ask: AskTab
    lookup: LookupTab
    details: DetailsTab
    manage: ManageTab
    evaluation: EvalTab


def llm_panel(gr) -> LLMPanel:
    """The settings panel of the optional model server (pre-filled from FAGUI_LLM_*):
    base URL, model, and switches for rewriting and the written answer."""
    base_url, model = configured_server()
    with gr.Accordion("大模型设置（可选，OpenAI 兼容接口）", open=False):
        gr.Markdown("留空则不调用任何模型。只发送问题和检索到的条文；API key 只从环境变量 FAGUI_LLM_API_KEY 读取。")
        with gr.Row():
            url = gr.Textbox(value=base_url, label="服务地址", placeholder="http://127.0.0.1:8000/v1", elem_id="fagui-llm-url")
            name = gr.Textbox(value=model, label="模型", placeholder="qwen2.5-7b-instruct", elem_id="fagui-llm-model")
        with gr.Row():
            rewrite = gr.Checkbox(value=True, label="检索前改写问题（法律用语）", elem_id="fagui-llm-rewrite")
            write = gr.Checkbox(value=True, label="模型撰写回答（引用逐条核验）", elem_id="fagui-llm-write")
    return LLMPanel(url, name, rewrite, write)


def ask_tab(gr, rerank_default: bool = False) -> AskTab:
    question = gr.Textbox(label="问题", lines=2, placeholder="例如：受托企业泄露政务数据，谁承担责任？",
                          elem_id="fagui-question")
    gr.Examples(EXAMPLES, inputs=question, label="示例问题")
    with gr.Accordion("检索设置与筛选", open=False):
        with gr.Row():
            mode = gr.Radio(RETRIEVAL_MODES, value=DEFAULT_MODE, label="检索模式")
            k = gr.Slider(3, 30, value=10, step=1, label="检索条数")
        with gr.Row():
            doc_types = gr.Dropdown(list(DOC_TYPES), multiselect=True, label="文件类型")
            region = gr.Textbox(label="地区（包含）", placeholder="如：广东省")
            statuses = gr.CheckboxGroup(["current", "superseded"], label="版本状态")
        rerank = gr.Checkbox(value=rerank_default, label=f"交叉编码器重排序（前 {RERANK_DEPTH} 条）", elem_id="fagui-rerank")
    llm = llm_panel(gr)
    ask_btn = gr.Button("提问", variant="primary", elem_id="fagui-ask")
    analysis_html = gr.HTML(elem_id="fagui-analysis")
    evidence_html = gr.HTML(elem_id="fagui-evidence")
    with gr.Row():
        export_btn = gr.Button("导出 Markdown / DOCX", elem_id="fagui-export", scale=1)
        export_files = gr.File(label="导出文件", file_count="multiple", interactive=False,
                               elem_id="fagui-export-files", height=120, scale=2)
    return AskTab(question, mode, k, doc_types, region, statuses, rerank, llm, ask_btn, analysis_html, evidence_html,
                  export_btn, export_files)


def lookup_tab(gr) -> LookupTab:
    text = gr.Textbox(label="条文", placeholder="数据安全法第四十五条", elem_id="fagui-lookup-text")
    button = gr.Button("查询", variant="primary", elem_id="fagui-lookup")
    return LookupTab(text, button, gr.HTML(elem_id="fagui-lookup-result"))


def details_tab(gr) -> DetailsTab:
    question = gr.Textbox(label="问题", lines=2, elem_id="fagui-details-question")
    button = gr.Button("显示 BM25 / 向量得分", elem_id="fagui-details")
    return DetailsTab(question, button, gr.HTML(elem_id="fagui-details-result"))


def manage_tab(gr, max_bytes: int) -> ManageTab:
    uploads = gr.File(label=f"上传 PDF / DOCX / TXT / MD（每个 ≤ {upload_limit_text(max_bytes)}）",
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
    return ManageTab(uploads, upload_type, upload_btn, build_btn, upload_report, upload_status, remove_choice,
                     remove_btn, docs_html)


def eval_tab(gr) -> EvalTab:
    file = gr.File(label="问题文件（JSONL，与 ../shared/eval 同格式；或 CSV）", type="filepath",
                   file_types=[".jsonl", ".csv"], elem_id="fagui-eval-file")
    with gr.Row():
        mode = gr.Radio(RETRIEVAL_MODES, value=DEFAULT_MODE, label="检索模式")
        limit = gr.Number(value=20, precision=0, label="最多问题数")
    button = gr.Button("运行评估", variant="primary", elem_id="fagui-eval-btn")
    result = gr.HTML(elem_id="fagui-eval-result")
    plots = gr.Gallery(label="图表", columns=3, height="auto", elem_id="fagui-eval-plots")
    return EvalTab(file, mode, limit, button, result, plots)


# ------------------------------------------------------------------ callbacks


def gradio_callbacks(gr, app: FaguiApp, inbox: UploadInbox) -> dict[str, Any]:
    """The page's callbacks by function name (Gradio names each API endpoint after its
    function: `/do_upload`, …): unpack the page's values, call `FaguiApp`, shape the
    outputs (`gr.update` for dropdowns). Upload, remove and build declare
    `gr.Progress(track_tqdm=True)`, so their progress bars show in the page."""

    def received(paths) -> list[str]:
        return [str(inbox.accept(p)) for p in paths or []]

    def do_ask(q, coll, m, kk, dt, rg, st, url, model, rewrite, write, rr=None):
        return app.ask(q, coll, m, kk, dt, rg, st, url, model, rewrite, write, rerank=rr)

    def do_details(q, coll, url, model, rewrite, rr=None):
        return app.details(q, coll, 10, url, model, rewrite, rerank=rr)

    def do_upload(files, coll, doc_type, progress=gr.Progress(track_tqdm=True)):
        try:
            report, note = app.upload(received(files), coll, progress=True, doc_type=doc_type)
        except UploadRefused as exc:
            report, note = render.notice(str(exc)), render.notice("索引未改变。")
        finally:
            for path in files or []:
                inbox.discard(path)
        return report, note, app.documents_html(coll), gr.update(choices=app.document_choices(coll)), None

    def do_evaluate(question_file, coll, m, limit):
        try:
            accepted = received([question_file] if question_file else [])
            return app.evaluate(accepted[0] if accepted else None, coll, m, limit)
        except UploadRefused as exc:
            return render.notice(str(exc)), []
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
            return render.notice(str(exc)), "", gr.update(choices=[], value=None), "", ""
        return app.status_html(coll), docs, gr.update(choices=choices, value=None), "", ""

    return {f.__name__: f for f in (do_ask, do_details, do_upload, do_evaluate, do_remove, do_build, on_collection)}


def wire_events(demo, page: Page, app: FaguiApp, callbacks: dict[str, Any]) -> None:
    """Connect every button, submit, timer and load event of the page to its callback
    (in this order: Gradio numbers the endpoints as they are registered)."""
    ask, tab, manage, ev = page.ask, page.lookup, page.manage, page.evaluation
    answer_out = [ask.analysis_html, ask.evidence_html, page.answer_state]
    # the reranking switch last: API clients that pass the earlier inputs by position keep working
    ask_inputs = [ask.question, page.collection, ask.mode, ask.k, ask.doc_types, ask.region, ask.statuses,
                  ask.llm.url, ask.llm.model, ask.llm.rewrite, ask.llm.write, ask.rerank]
    ask.ask_btn.click(callbacks["do_ask"], ask_inputs, answer_out, concurrency_limit=ANSWER_CONCURRENCY)
    ask.question.submit(callbacks["do_ask"], ask_inputs, answer_out, concurrency_limit=ANSWER_CONCURRENCY)
    ask.export_btn.click(app.export, [page.answer_state], [ask.export_files])
    tab.button.click(app.lookup, [tab.text, page.collection], [tab.result], concurrency_limit=ANSWER_CONCURRENCY)
    tab.text.submit(app.lookup, [tab.text, page.collection], [tab.result], concurrency_limit=ANSWER_CONCURRENCY)
    page.details.button.click(callbacks["do_details"], [page.details.question, page.collection, ask.llm.url,
                                                        ask.llm.model, ask.llm.rewrite, ask.rerank],
                              [page.details.result], concurrency_limit=ANSWER_CONCURRENCY)
    manage.upload_btn.click(callbacks["do_upload"], [manage.uploads, page.collection, manage.upload_type],
                            [manage.upload_report, manage.upload_status, manage.docs_html, manage.remove_choice,
                             manage.uploads])
    manage.remove_btn.click(callbacks["do_remove"], [manage.remove_choice, page.collection],
                            [manage.upload_status, manage.docs_html, manage.remove_choice])
    manage.build_btn.click(callbacks["do_build"], [page.collection],
                           [manage.upload_status, manage.docs_html, manage.remove_choice])
    ev.button.click(callbacks["do_evaluate"], [ev.file, page.collection, ev.mode, ev.limit], [ev.result, ev.plots])
    collection_out = [page.status, manage.docs_html, manage.remove_choice, ask.analysis_html, ask.evidence_html]
    page.collection.change(callbacks["on_collection"], [page.collection], collection_out)
    page.timer.tick(app.status_html, [page.collection], [page.status], show_progress="hidden", queue=False)
    demo.load(callbacks["on_collection"], [page.collection], collection_out)


# ------------------------------------------------------------------ the page


def build_blocks(app: FaguiApp, inbox: UploadInbox):
    """The page: tabs on the left, the source view (iframe) on the right; see the module
    docstring for how uploads reach the handlers."""
    # the web stack (Gradio takes seconds to import) only for `fagui serve`
    import gradio as gr

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
                        ask = ask_tab(gr, app.rerank_default())
                    with gr.Tab("条文查询", id="lookup"):
                        lookup = lookup_tab(gr)
                    with gr.Tab("检索详情", id="details"):
                        details = details_tab(gr)
                    with gr.Tab("文档管理", id="manage"):
                        manage = manage_tab(gr, app.max_bytes)
                    with gr.Tab("评估", id="eval"):
                        evaluation = eval_tab(gr)
            with gr.Column(scale=2, elem_id="fagui-source-col"):
                gr.HTML(render.source_frame(app.config.collection))
        page = Page(answer_state, collection, status, timer, ask, lookup, details, manage, evaluation)
        wire_events(demo, page, app, gradio_callbacks(gr, app, inbox))
    return demo
