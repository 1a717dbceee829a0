"""The app driven over HTTP against a real `fagui serve` app (uvicorn on a free port,
Gradio's own client uploading real files), the way issue 11 found the failures:
a refused upload must never touch an existing file of the same name (F2); an absurd
article number is answered like any missing article (F4)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from corpus import catalog

LAWS = ["行政法/数据安全法(2021-06-10).md"]
COLLECTION = "httpup"


@pytest.fixture(scope="module")
def server(indexed_home, live_server):
    from assistant.app import AppConfig

    indexed_home(COLLECTION, LAWS)
    return live_server(AppConfig(collection=COLLECTION, progress=False))


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def upload(client, path: Path, doc_type: str = "") -> tuple[str, str]:
    """POST the file to the server and run the page's upload handler → (report, status)."""
    from gradio_client import handle_file

    report, note, *_ = client.predict([handle_file(str(path))], COLLECTION, doc_type, api_name="/do_upload")
    return report, note


def stored(name: str) -> Path:
    return catalog.load_spec(COLLECTION).user_files_dir / name


def test_refused_upload_keeps_the_earlier_file_of_the_same_name(client, tmp_path):
    good = tmp_path / "good" / "dup.md"
    good.parent.mkdir()
    good.write_text("# 机房值守管理办法\n\n第一条 机房值守人员应当每日巡检并记录。\n\n第二条 违反第一条的，依法处理。\n",
                    encoding="utf-8")
    report, note = upload(client, good)
    assert "已接收" in report and "现在即可检索" in note, report
    original = stored("dup.md").read_bytes()

    bad = tmp_path / "bad" / "dup.md"
    bad.parent.mkdir()
    bad.write_text("这份文件没有标题行，也没有条文。\n", encoding="utf-8")
    report, note = upload(client, bad)
    assert "已拒绝" in report and "索引未改变" in note, report
    assert stored("dup.md").read_bytes() == original

    bad_docx = tmp_path / "bad" / "dup.docx"  # passes the content check, fails in the parser
    with zipfile.ZipFile(bad_docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document><unclosed>")
    report, _ = upload(client, bad_docx)
    assert "已拒绝" in report and "dup.docx" in report, report
    assert not stored("dup.docx").exists()

    client.predict(COLLECTION, api_name="/do_build")  # the next rebuild still has the document
    html = client.predict("机房值守管理办法第一条", COLLECTION, api_name="/lookup")
    assert "每日巡检" in html
    assert sorted(p.name for p in catalog.user_files(catalog.load_spec(COLLECTION))) == sorted(
        [Path(LAWS[0]).name, "dup.md"])


HUGE_ARTICLE = "数据安全法第九九九九九九九九九九九九九九九九九九条"


def test_huge_article_number_is_a_missing_article_in_the_app(client):
    html = client.predict(HUGE_ARTICLE, COLLECTION, api_name="/lookup")
    assert "没有第999999999999999999条" in html and "该法共55条" in html, html
    analysis, evidence, *_ = client.predict(HUGE_ARTICLE, COLLECTION, "bm25", 10, [], "", [], api_name="/do_ask")
    assert "该法共55条" in analysis and "Error" not in analysis, analysis


def test_one_upload_limit_is_stated_the_same_everywhere(server, live_server, tmp_path):
    """Label, Gradio's own check (its toast divides max_file_size by 1024²) and our refusal."""
    import httpx

    from assistant.app import AppConfig
    from assistant.manage import check_upload
    from corpus.records import IngestError

    small = live_server(AppConfig(collection=COLLECTION, progress=False, max_upload_mb=1))
    config = httpx.get(f"{small}/config", timeout=30).json()
    assert config["max_file_size"] == 1024 * 1024
    labels = [c["props"].get("label") or "" for c in config["components"]]
    assert any("每个 ≤ 1 MB" in label for label in labels), labels
    big = tmp_path / "big.txt"
    big.write_bytes("第一条 很长。\n".encode("utf-8") * 120_000)  # 1.9 MB
    with big.open("rb") as handle:
        refused = httpx.post(f"{small}/gradio_api/upload", files={"files": ("big.txt", handle)}, timeout=60)
    assert refused.status_code == 413, refused.text
    with pytest.raises(IngestError, match=r"limit 1 MB\)"):
        check_upload(big, "big.txt", config["max_file_size"])


def test_a_failed_build_shows_only_on_its_own_collection(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError):  # an empty collection cannot be built
        client.predict("emptyone", api_name="/do_build")
    assert "索引构建失败" in client.predict("emptyone", api_name="/status_html")
    other = client.predict(COLLECTION, api_name="/status_html")
    # ready either way: hybrid, or BM25 while an earlier upload's vectors are still embedding
    assert "失败" not in other and ("索引就绪" in other or "关键词检索就绪" in other), other


def test_upload_form_sets_the_document_type(client, tmp_path):
    """A translated foreign 条例 has no enactment evidence; the form's type field decides."""
    path = tmp_path / "通用数据保护条例.md"
    path.write_text("# 通用数据保护条例\n\n第一条 本条例规定个人数据处理的规则。\n\n第二条 控制者应当保护个人数据。\n",
                    encoding="utf-8")
    report, _ = upload(client, path)
    assert "效力待确认" in report and "行政法规" not in report, report
    report, _ = upload(client, path, "规范性文件")
    assert "规范性文件" in report and "效力待确认" not in report, report
    docs = client.predict(COLLECTION, api_name="/on_collection")[1]
    assert "通用数据保护条例" in docs and "规范性文件" in docs


def test_a_slow_parse_does_not_hold_the_upload_lock(client, tmp_path, monkeypatch):
    """F3: while one upload is still being parsed, an index build (or removal) goes ahead."""
    import threading

    import corpus.ingest

    entered, release = threading.Event(), threading.Event()
    real_read_text = corpus.ingest.read_text

    def slow_read_text(path):
        if "慢" in Path(path).name:
            entered.set()
            release.wait(120)
        return real_read_text(path)

    monkeypatch.setattr(corpus.ingest, "read_text", slow_read_text)  # the reader ingest picks for .txt
    slow = tmp_path / "慢速解析办法.txt"
    slow.write_text("慢速解析办法\n第一条 上传解析期间不得阻塞其他操作。\n第二条 违反第一条的，依法处理。\n", encoding="utf-8")
    from gradio_client import handle_file

    job = client.submit([handle_file(str(slow))], COLLECTION, "", api_name="/do_upload")
    try:
        assert entered.wait(60)
        done = threading.Event()
        threading.Thread(target=lambda: (client.predict(COLLECTION, api_name="/do_build"), done.set()), daemon=True).start()
        assert done.wait(90), "the build waited for the parse"
        assert not job.done()
    finally:
        release.set()
    report, note, *_ = job.result(timeout=180)
    assert "已接收" in report and "现在即可检索" in note, report
