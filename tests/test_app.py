"""The app's handlers and routes on a small real index (real model), without a browser:
ask, lookup with cross-reference links, retrieval details, source routes, uploads
(refused and accepted), removal, evaluation, export, and answering from the last
complete index while an upload is indexed."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from assistant import manage
from assistant.app import AppConfig, FaguiApp, create_app
from assistant.manage import Library
from corpus import catalog

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LAWS = ["行政法/数据安全法(2021-06-10).md", "行政法/个人信息保护法(2021-08-20).md"]
UPLOADS = "uploads"  # a second collection the mutating tests write into


def policy_text(title: str, body: str) -> str:
    return f"---\ntitle: {title}\n---\n第一条 {body}\n第二条 违反本办法第一条规定的，依法给予处分。\n"


@pytest.fixture(scope="module")
def app(indexed_home):
    indexed_home("mini", LAWS)
    indexed_home(UPLOADS, LAWS[:1])
    handlers = FaguiApp(AppConfig(collection="mini", progress=False, max_upload_mb=1))
    yield handlers
    assert handlers.library.wait_for_vectors(300), "the vectors of uploads are embedded in the background"


def test_ask_renders_analysis_and_ranked_evidence(app):
    analysis, evidence, answer = app.ask("国家机关委托企业维护电子政务系统，企业泄露了政务数据，谁负责？", "mini")
    assert answer is not None and answer.hits
    assert "责任主体" in analysis and 'class="cite"' in analysis
    assert "《中华人民共和国数据安全法》第四十条" in evidence and "<mark>" in evidence
    assert "现行有效" in evidence and "有约束力（法律）" in evidence


def test_ask_without_index_says_how_to_get_one(app):
    analysis, evidence, answer = app.ask("任何问题", "empty-collection")
    assert answer is None and "还没有索引" in analysis
    assert "invalid collection name" in app.status_html("no spaces allowed")


def test_lookup_shows_article_and_cross_reference_links(app):
    html = app.lookup("数据安全法第四十五条", "mini")
    pipeline = app.library.pipeline("mini")
    target = pipeline.resolve("中华人民共和国数据安全法", "第二十七条")
    assert "开展数据处理活动的组织、个人不履行本法第二十七条" not in html  # the reference is a link now
    assert f'data-unit="{target}"' in html and "罚则" in html and "所罚义务" in html
    assert "没有" in app.lookup("数据安全法第九十九条", "mini") or "55" in app.lookup("数据安全法第九十九条", "mini")


def test_retrieval_details_show_both_retrievers(app):
    pipeline = app.library.pipeline("mini")
    rows, terms = app.details_rows(pipeline, "个人信息处理者委托处理个人信息", k=5)
    assert "个人信息" in terms
    assert rows[0]["fused_rank"] == 1
    assert any(r["bm25_rank"] and r["dense_rank"] for r in rows)
    assert all(r["matched"] for r in rows if r["bm25_rank"])  # a BM25 hit shares a term
    html = app.details("个人信息处理者委托处理个人信息", "mini")
    assert "BM25 名次" in html and "向量名次" in html


def test_source_routes(app):
    from fastapi.testclient import TestClient

    client = TestClient(create_app(app.config, library=app.library))
    unit = app.library.pipeline("mini").resolve("中华人民共和国数据安全法", "第四十条")
    response = client.get("/fagui/source", params={"c": "mini", "u": unit, "q": "政务数据"})
    assert response.status_code == 200
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none' forbids scripts
    assert f'class="unit target" id="u-{unit}"' in response.text and "<mark>政务数据</mark>" in response.text
    assert client.get("/fagui/source", params={"c": "mini", "u": "nope"}).status_code == 404
    assert client.get("/fagui/source", params={"c": "../etc", "u": unit}).status_code == 400
    assert client.get("/fagui/page", params={"c": "mini", "u": unit, "p": 1}).status_code == 404  # not a PDF


def test_refused_uploads_say_why_and_change_nothing(app, tmp_path):
    fake = tmp_path / "report.pdf"
    fake.write_text("<html>not a pdf</html>", encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text("第一条 " + "很长" * 600_000, encoding="utf-8")
    before = set(p.name for p in catalog.user_files(catalog.load_spec(UPLOADS)))
    report, note = app.upload([str(fake), str(big)], UPLOADS, progress=False)
    assert report.count("已拒绝") == 2 and "not a PDF" in report and "too large" in report
    assert "索引未改变" in note
    assert set(p.name for p in catalog.user_files(catalog.load_spec(UPLOADS))) == before


def test_upload_is_searchable_at_once_and_removable(app, tmp_path):
    path = tmp_path / "平台运维安全办法.txt"
    path.write_text(policy_text("平台运维安全办法", "平台运维单位应当建立日志审计制度。"), encoding="utf-8")
    report, note = app.upload([str(path)], UPLOADS, progress=False)
    assert "已接收" in report and "2 个条文单元" in report, report
    assert "现在即可检索" in note
    assert "平台运维单位应当建立日志审计制度" in app.lookup("平台运维安全办法第一条", UPLOADS)
    source = next(c for c in app.document_choices(UPLOADS) if "平台运维安全办法" in c[0])[1]
    assert source.startswith("files/")
    assert "已移除" in app.remove(source, UPLOADS, progress=False)
    assert all("平台运维安全办法" not in c[0] for c in app.document_choices(UPLOADS))


def test_an_uploaded_pdf_of_a_law_already_held_says_which_copy_is_searched(app):
    """The upload report said only 已接收: a PDF of 数据安全法, whose Markdown the collection
    holds, is that text's duplicate, and the report says which copy answers."""
    report, _ = app.upload([str(SHARED / "pdfs" / "01_law_data_security_law_2021.pdf")], UPLOADS, progress=False)
    assert "已接收" in report and "与已有文本相同，检索时使用" in report and "数据安全法(2021-06-10).md" in report, report
    source = next(c for c in app.document_choices(UPLOADS) if c[1].endswith("01_law_data_security_law_2021.pdf"))[1]
    assert "已移除" in app.remove(source, UPLOADS, progress=False)


def test_queries_answer_from_the_last_index_while_an_upload_is_indexed(app, tmp_path, monkeypatch):
    """The build is held open; meanwhile questions are answered from the old pipeline."""
    release, entered = threading.Event(), threading.Event()
    real_refresh = manage.refresh_index

    def slow_refresh(collection, **options):
        entered.set()
        assert release.wait(60)
        return real_refresh(collection, **options)

    monkeypatch.setattr(manage, "refresh_index", slow_refresh)
    assert app.library.wait_for_vectors(300)  # no swap from an earlier upload's vectors during the test
    before = app.library.pipeline(UPLOADS)
    path = tmp_path / "数据出境评估办法.txt"
    path.write_text(policy_text("数据出境评估办法", "数据处理者向境外提供数据应当申报安全评估。"), encoding="utf-8")
    worker = threading.Thread(target=app.upload, args=([str(path)], UPLOADS), kwargs={"progress": False})
    worker.start()
    try:
        assert entered.wait(60)
        started = time.perf_counter()
        _, evidence, answer = app.ask("国家机关委托他人维护电子政务系统", UPLOADS)
        assert answer is not None and answer.hits and time.perf_counter() - started < 10
        assert app.library.pipeline(UPLOADS) is before  # still the last complete index
        assert "数据出境评估办法" not in evidence
    finally:
        release.set()
        worker.join(120)
    assert app.library.pipeline(UPLOADS) is not before
    assert "申报安全评估" in app.lookup("数据出境评估办法第一条", UPLOADS)


def test_concurrent_uploads_are_serialised_and_both_land(app, tmp_path, monkeypatch):
    active, peak = [0], [0]
    real_refresh = manage.refresh_index
    guard = threading.Lock()

    def counting_refresh(collection, **options):
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            return real_refresh(collection, **options)
        finally:
            with guard:
                active[0] -= 1

    monkeypatch.setattr(manage, "refresh_index", counting_refresh)
    other = FaguiApp(app.config, app.library)  # a second session of the same server
    files = []
    for name, body in (("甲办法", "甲单位应当报告安全事件。"), ("乙办法", "乙单位应当备份政务数据。")):
        path = tmp_path / f"{name}.txt"
        path.write_text(policy_text(name, body), encoding="utf-8")
        files.append(path)
    threads = [threading.Thread(target=a.upload, args=([str(f)], UPLOADS), kwargs={"progress": False})
               for a, f in zip((app, other), files)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert peak[0] == 1
    assert "报告安全事件" in app.lookup("甲办法第一条", UPLOADS)
    assert "备份政务数据" in app.lookup("乙办法第一条", UPLOADS)


def test_evaluation_tab_runs_a_question_file(app, tmp_path):
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "q1", "question": "国家机关委托他人维护电子政务系统应当履行什么程序？", "kind": "lookup",
         "gold": [{"law": "中华人民共和国数据安全法", "article": "第四十条"}]},
        {"id": "q2", "question": "个人信息处理者委托处理个人信息应当约定什么？", "kind": "lookup",
         "gold": [{"law": "中华人民共和国个人信息保护法", "article": "第二十一条"}]},
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    html, plots = app.evaluate(str(questions), "mini", "hybrid", 10, 20)
    assert "recall@10" in html and "2 个问题" in html
    assert plots and all(Path(p).exists() and p.endswith(".png") for p in plots)


def test_export_handler_writes_markdown_and_docx(app):
    _, _, answer = app.ask("受托方泄露政务数据", "mini")
    md, docx = app.export(answer)
    assert Path(md).read_text(encoding="utf-8").startswith("# 法规检索助手")
    assert Path(docx).stat().st_size > 5000
    assert app.export(None) == []


def test_fresh_collection_answers_by_bm25_first_and_turns_hybrid_without_restart(tmp_path, monkeypatch, capsys):
    """`fagui serve` on a fresh machine: the BM25 index is built and served first and
    answers say they are keyword answers while the vectors are embedded; once they are
    in, the same Library answers hybrid (the CLI too), with no restart."""
    from assistant.cli import main
    from indexer import embed_worker

    monkeypatch.setenv("FAGUI_HOME", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    catalog.add_files("fresh", [REPO / "data/lawrefbook" / LAWS[0]])
    gate, held = threading.Event(), threading.Event()
    real_embed_in_child = embed_worker.embed_in_child

    def held_embed_in_child(index_dir, progress=False, on_progress=None):
        # Held before the child starts: once started it swaps the complete index in on disk.
        on_progress(0, json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))["collection"]["passages"])
        held.set()
        assert gate.wait(120)
        return real_embed_in_child(index_dir, progress=progress, on_progress=on_progress)

    monkeypatch.setattr(embed_worker, "embed_in_child", held_embed_in_child)
    library = Library()
    app = FaguiApp(AppConfig(collection="fresh", progress=False), library)
    question = "国家机关委托他人建设、维护电子政务系统，应当经过什么程序？"
    try:
        assert library.start("fresh") == "building"
        assert "首次构建索引" in app.status_html("fresh")
        assert held.wait(180), library.status.message
        assert library.status.phase == "ready"
        first = library.pipeline("fresh")
        assert first.index.dense is None and first.index.dense_state == "pending"
        analysis, evidence, answer = app.ask(question, "fresh")
        assert answer.retrieval == {"requested": "hybrid", "used": "bm25", "vectors": "pending",
                                    "reason": answer.retrieval["reason"], "rerank": "fagui-rerank-m3e-small",
                                    } and "not embedded yet" in answer.retrieval["reason"]
        assert "《中华人民共和国数据安全法》第四十条" in evidence
        assert "语义检索构建中（0%），本次为关键词检索" in analysis
        assert "关键词检索就绪" in app.status_html("fresh") and "语义检索构建中" in app.status_html("fresh")
        capsys.readouterr()
        assert main(["ask", question, "--collection", "fresh", "--json"]) == 0
        out = capsys.readouterr()
        assert json.loads(out.out)["retrieval"]["used"] == "bm25" and "not embedded yet" in out.err
        questions = tmp_path / "q.jsonl"
        questions.write_text(json.dumps({"id": "q1", "question": question, "gold": [
            {"law": "中华人民共和国数据安全法", "article": "第四十条"}]}, ensure_ascii=False), encoding="utf-8")
        assert main(["eval", str(questions), "--collection", "fresh", "--out", str(tmp_path / "run")]) == 0
        assert "1 questions answered by bm25" in capsys.readouterr().out
        config = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))["config"]
        assert config["mode"] == "hybrid" and config["modes_used"] == {"bm25": 1}
    finally:
        gate.set()
    assert library.wait_for_vectors(300)
    assert library.vector_status("fresh").state == "complete"
    live = library.pipeline("fresh")
    assert live is not first and live.index.dense_state == "complete"
    analysis, evidence, answer = app.ask(question, "fresh")
    assert answer.retrieval["used"] == "hybrid" and "关键词检索" not in analysis
    assert "dense" in answer.hits[0].scores and "索引就绪" in app.status_html("fresh")
    capsys.readouterr()
    assert main(["ask", question, "--collection", "fresh", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["retrieval"]["used"] == "hybrid" and "note:" not in out.err
    assert library.start("fresh") == "ready", "a restart finds the complete index"


def test_an_upload_during_the_vector_step_goes_first_and_the_vectors_resume(tmp_path, monkeypatch):
    """The vector worker holds the build lock but yields it: an upload waiting for it
    stops the worker after its current batch, is searchable at once, and the worker
    then resumes and swaps in the complete index of the updated collection."""
    from indexer import embed_worker

    monkeypatch.setenv("FAGUI_HOME", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    catalog.add_files("fresh", [REPO / "data/lawrefbook" / LAWS[0]])
    gate, held, calls, totals = threading.Event(), threading.Event(), [], []
    real_embed_in_child = embed_worker.embed_in_child

    def held_embed_in_child(index_dir, progress=False, on_progress=None):
        totals.append(json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))["collection"]["passages"])

        def report(done, total):  # the child runs on while this holds; it is stopped when this raises
            if total:
                calls.append((done, total))
            if not held.is_set():
                held.set()
                assert gate.wait(120)
            on_progress(done, total)
        return real_embed_in_child(index_dir, progress=progress, on_progress=report)

    monkeypatch.setattr(embed_worker, "embed_in_child", held_embed_in_child)
    library = Library()
    app = FaguiApp(AppConfig(collection="fresh", progress=False), library)
    assert library.start("fresh") == "building"
    assert held.wait(180), library.status.message
    path = tmp_path / "机房值守办法.txt"
    path.write_text(policy_text("机房值守办法", "机房值守人员应当每日巡检政务云设备。"), encoding="utf-8")
    uploaded = {}
    worker = threading.Thread(target=lambda: uploaded.update(note=app.upload([str(path)], "fresh", progress=False)[1]))
    worker.start()
    deadline = time.monotonic() + 30
    while not library._builds_waiting and time.monotonic() < deadline:  # the upload waits for the build lock
        time.sleep(0.05)
    gate.set()
    worker.join(180)
    assert "现在即可检索" in uploaded["note"]
    assert "每日巡检政务云设备" in app.lookup("机房值守办法第一条", "fresh")
    assert library.wait_for_vectors(300)
    assert library.vector_status("fresh").state == "complete"
    live = library.pipeline("fresh")
    assert live.index.dense_state == "complete" and "机房值守办法" in {d.title for d in live.table.documents.values()}
    assert calls[-1][0] == calls[-1][1] == len(live.index.passages)
    before = totals[0]  # passages of the index the worker was embedding when the upload came
    assert before < len(live.index.passages)
    assert not any(done == total == before for done, total in calls), "the worker stopped for the upload"


def test_an_index_embedded_by_another_model_is_rebuilt_with_the_new_one(tmp_path, monkeypatch, capsys):
    """When the embedding model changes (a new shipped default, or FAGUI_MODEL), `fagui
    serve`'s start rebuilds the index instead of failing on the model check: BM25 first,
    then vectors of the new model, none reused from the old one."""
    import shutil

    import torch
    from safetensors.torch import save_file

    from indexer.models import base_model_path, weights_fingerprint

    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CI", "true")
    base = base_model_path()
    monkeypatch.setenv("FAGUI_MODEL", str(base))
    catalog.add_files("fresh", [REPO / "data/lawrefbook" / LAWS[0]])
    library = Library()
    assert library.start("fresh") == "building"
    deadline = time.monotonic() + 300
    while library.status.phase == "building" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert library.wait_for_vectors(300) and library.vector_status("fresh").state == "complete"
    assert manage.model_change("fresh") == ""
    assert Library().start("fresh") == "ready", "same model: nothing to rebuild"

    other = tmp_path / "other-model"  # the same network, stored in fp16: other weights, other fingerprint
    shutil.copytree(base, other, ignore=shutil.ignore_patterns("*.bin", "*.safetensors"))
    state = torch.load(base / "pytorch_model.bin", map_location="cpu", weights_only=True)
    save_file({k: v.half().contiguous() for k, v in state.items()}, str(other / "model.safetensors"))
    monkeypatch.setenv("FAGUI_MODEL", str(other))
    reason = manage.model_change("fresh")
    assert "rebuilding" in reason and weights_fingerprint(base)[:12] in reason
    capsys.readouterr()
    library = Library()
    assert library.start("fresh") == "rebuilding"
    assert reason in capsys.readouterr().err
    deadline = time.monotonic() + 300
    while library.status.phase == "building" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert library.status.phase == "ready", library.status.message
    assert library.wait_for_vectors(300) and library.vector_status("fresh").state == "complete"
    manifest = json.loads((tmp_path / "home" / "indexes" / "fresh" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"]["weights_sha256"] == weights_fingerprint(other)
    assert manage.model_change("fresh") == ""
    answer = library.pipeline("fresh").ask("国家机关委托他人建设、维护电子政务系统，应当经过什么程序？")
    assert answer.retrieval["used"] == "hybrid"
