"""Issue 11, F1, driven the way it was found: HTTP calls to a real `fagui serve` app
(uvicorn on a free loopback port, real index, real model) that name server files in the
Gradio API. No server file may reach a collection or the evaluation, with or without
`--auth`; real uploads still work and their temporary copies are deleted; the API docs
routes are off unless asked for."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from corpus import catalog

LAWS = ["行政法/数据安全法(2021-06-10).md"]
SECRET = "第一条 机密：服务器上的文件绝不能被读出。\n"
VALID_MD = "# 测试上传办法\n\n<!-- INFO END -->\n\n第一条 受托单位应当保护上传测试数据。\n\n第二条 违反本办法第一条的，依法处理。\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def file_data(path: str, *, meta: bool = True) -> dict:
    item = {"path": path, "orig_name": Path(path).name}
    if meta:
        item["meta"] = {"_type": "gradio.FileData"}
    return item


@pytest.fixture(scope="module")
def servers(indexed_home, tmp_path_factory):
    """Two real servers on the same index: one open (localhost), one with --auth."""
    from assistant.app import AppConfig, ServerThread, create_app

    home = indexed_home("mini", LAWS)
    outside = tmp_path_factory.mktemp("server-files")
    secrets = {ext: outside / f"secret{ext}" for ext in (".md", ".txt", ".pdf", ".docx")}
    for path in secrets.values():
        path.write_text(SECRET, encoding="utf-8")
    config = AppConfig(collection="mini", progress=False)
    open_server = ServerThread(create_app(config), port=free_port()).start()
    auth_server = ServerThread(create_app(config, auth=("ann", "pw")), port=free_port()).start()
    yield {"open": open_server.url, "auth": auth_server.url, "secrets": secrets, "home": home}
    open_server.stop()
    auth_server.stop()


def call(base: str, api_name: str, data: list, auth=None) -> tuple[int, str]:
    """POST /gradio_api/call/NAME, then read the event stream to its end → (status, text)."""
    with httpx.Client(base_url=base, auth=auth, timeout=120) as client:
        started = client.post(f"/gradio_api/call/{api_name}", json={"data": data})
        if started.status_code != 200:
            return started.status_code, started.text
        event = started.json()["event_id"]
        stream = client.get(f"/gradio_api/call/{api_name}/{event}").text
        data = [line[len("data: "):] for line in stream.splitlines() if line.startswith("data: ")]
        return 200, "\n".join(json.dumps(json.loads(d), ensure_ascii=False) for d in data)


def collection_files(name: str) -> list[str]:
    return [p.name for p in catalog.user_files(catalog.load_spec(name))]


@pytest.mark.parametrize("kind", ["open", "auth"])
@pytest.mark.parametrize("ext", [".md", ".txt", ".pdf", ".docx"])
def test_server_file_named_in_upload_call_is_refused(servers, kind, ext):
    auth = ("ann", "pw") if kind == "auth" else None
    secret = str(servers["secrets"][ext])
    status, text = call(servers[kind], "do_upload", [[file_data(secret)], "stolen", ""], auth=auth)
    assert status == 403 and "not received as an upload" in text
    assert collection_files("stolen") == []
    leaked = [p for p in Path(servers["home"]).rglob(f"secret{ext}")]
    assert leaked == []  # not even a copy in Gradio's cache


@pytest.mark.parametrize("path", ["/etc/passwd", "http://127.0.0.1:9/x.md", "../../../../etc/hostname"])
def test_paths_urls_and_objects_without_meta_are_refused(servers, path):
    for item in (file_data(path), file_data(path, meta=False)):
        status, text = call(servers["open"], "do_upload", [[item], "stolen", ""])
        assert status == 403, text
    assert collection_files("stolen") == []


def test_traversal_out_of_the_upload_folder_is_refused(servers):
    with httpx.Client(base_url=servers["open"], timeout=60) as client:
        uploaded = client.post("/gradio_api/upload", files={"files": ("law.md", VALID_MD.encode("utf-8"))}).json()[0]
    escape = str(Path(uploaded).parent / ".." / ".." / ".." / Path(servers["secrets"][".md"]).name)
    status, _ = call(servers["open"], "do_upload", [[file_data(escape)], "stolen", ""])
    assert status == 403


def test_evaluation_refuses_server_question_files(servers, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "x", "question": "数据", "gold": []}, ensure_ascii=False) + "\n")
    status, text = call(servers["open"], "do_evaluate", [file_data(str(questions)), "mini", "bm25", 5])
    assert status == 403
    runs = Path(servers["home"]) / "eval-runs"
    assert not runs.exists() or not any(runs.iterdir())


def test_real_upload_is_ingested_and_its_temporary_copy_deleted(servers):
    base = servers["open"]
    with httpx.Client(base_url=base, timeout=60) as client:
        uploaded = client.post("/gradio_api/upload", files={"files": ("upload-test.md", VALID_MD.encode("utf-8"))}).json()
    path = uploaded[0]
    home = Path(servers["home"]).resolve()
    assert Path(path).resolve().is_relative_to(home / "tmp")  # inside FAGUI_HOME, not a shared /tmp
    status, text = call(base, "do_upload", [[file_data(path)], "realup", ""])
    assert status == 200 and "已加入 1 个文件" in text, text
    assert collection_files("realup") == ["upload-test.md"]
    assert not Path(path).exists()  # the temporary copy is gone once ingested


def test_api_docs_only_when_asked(servers, indexed_home):
    from assistant.app import AppConfig, ServerThread, create_app

    with httpx.Client(base_url=servers["open"], timeout=30) as client:
        for route in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(route).status_code == 404, route
    asked = ServerThread(create_app(AppConfig(collection="mini", progress=False, api_docs=True)), port=free_port()).start()
    try:
        assert httpx.get(f"{asked.url}/openapi.json", timeout=30).status_code == 200
    finally:
        asked.stop()
