"""The vector step in child processes (indexer.embed_worker), with the real model: a kill -9
of the process that started it (the server) in the middle of embedding stops the child
after its batch, leaves the BM25 index serving and the embedded vectors cached, and the
next run embeds only the rest and swaps the complete index in."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from indexer import IndexConfig, build_index, load_index
from indexer.embed_worker import embed_in_child
from test_indexer import sample_documents

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

SERVER = """
import sys
sys.path[:0] = [{repo!r}]
from pathlib import Path
from indexer.embed_worker import embed_in_child
embed_in_child(Path({index_dir!r}))
print("finished")
"""


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def _gone(pid: int) -> bool:
    """Exited (reaped, or a zombie waiting for init)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _chunks(index_dir: Path) -> int:
    return sum(len(list(d.glob("cache/*.keys.npy"))) for d in index_dir.parent.glob(f".{index_dir.name}.build-*"))


def test_kill_9_of_the_server_during_the_vector_step_stops_the_child_and_the_next_run_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))  # a fresh home: the first child exports the model
    index_dir = tmp_path / "idx"
    build_index(sample_documents(extra=60), index_dir, IndexConfig(faiss_kind="flat"), progress=False,
                vectors_later=True)
    passages = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))["collection"]["passages"]
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(repo=str(REPO), index_dir=str(index_dir))],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    children: list[int] = []
    while _chunks(index_dir) < 1 and time.monotonic() < deadline and server.poll() is None:
        children = _children(server.pid) or children
        time.sleep(0.02)
    assert server.poll() is None, f"the server finished before it could be killed: {server.communicate()}"
    assert len(children) == 1, "the vectors are embedded in one child process (after the export child)"
    assert list((tmp_path / "home" / "cache" / "onnx").glob("*.onnx")), "the first child exported the model"
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    deadline = time.monotonic() + 60
    while not _gone(children[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(children[0]), "the child stops when the server dies"

    index = load_index(index_dir)
    assert index.dense_state == "pending" and len(index.passages) == passages
    assert index.search_bm25("单独同意", k=1)[0].unit_id.endswith(":article:2")

    seen = []
    report = embed_in_child(index_dir, on_progress=lambda done, total: seen.append((done, total)))
    assert report["passages"] == passages and report["cached"] >= 256, "the killed run's flushed chunks were reused"
    assert report["embedded"] == passages - report["cached"] and report["embedded"] < passages
    assert seen[-1] == (passages, passages)
    assert not list(tmp_path.glob(".idx.*")), "leftovers of the killed run are cleaned up"
    done = load_index(index_dir)
    assert done.dense_state == "complete"
    assert done.search("敏感个人信息应当取得单独同意", k=1)[0].unit_id.endswith(":article:2")
