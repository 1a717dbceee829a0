"""Torch-free query embedding: every dense build writes a verified `query.onnx`, a loaded
index embeds queries with ONNX Runtime (same vectors as sentence-transformers), a fresh
`fagui ask` never imports torch, rebuilds reuse the export, and a failed export falls
back to the torch path instead of breaking the build."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corpus.config import query_backend
from corpus.hashing import file_sha256
from corpus.ingest import finalize, read_document
from indexer.embedder import Embedder
from indexer.onnx_query import QUERY_MODEL_FILE, OnnxQueryEmbedder
from indexer.store import IndexConfig, build_index, load_index

REPO = Path(__file__).resolve().parents[1]
LAW = "行政法/数据安全法(2021-06-10).md"
QUERIES = ["受托企业泄露政务数据，委托的行政机关要承担什么责任？", "重要数据目录由谁制定", "数安法第45条罚款多少"]


@pytest.fixture(scope="module")
def home(indexed_home):
    return indexed_home("onnxq", [LAW])


@pytest.fixture(scope="module")
def index_dir(home):
    return home / "indexes" / "onnxq"


def test_build_writes_a_verified_query_model(index_dir):
    entry = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))["model"]["query_model"]
    assert entry["file"] == QUERY_MODEL_FILE and entry["min_cosine"] >= 0.9999
    assert entry["sha256"] == file_sha256(index_dir / QUERY_MODEL_FILE)
    assert entry["inputs"][:2] == ["input_ids", "attention_mask"]


def test_loaded_index_embeds_queries_with_onnx_like_sentence_transformers(index_dir, monkeypatch):
    monkeypatch.delenv("FAGUI_QUERY_BACKEND", raising=False)
    index = load_index(index_dir)
    onnx_vectors = np.vstack([index.embed_query(q) for q in QUERIES])
    assert isinstance(index.dense.embedder._get(), OnnxQueryEmbedder)
    exact = Embedder(precision="fp32").encode(QUERIES)
    assert (onnx_vectors * exact).sum(axis=1).min() >= 0.9999

    monkeypatch.setenv("FAGUI_QUERY_BACKEND", "embedder")
    embedder_index = load_index(index_dir)
    assert isinstance(embedder_index.dense.embedder._get(), Embedder)
    # the index's own embedder runs at the index's precision (int8 on a CPU without AMX), so
    # two articles within a few thousandths may swap; a top-3 article of either path must be
    # in the other's top 5, and the top 10s share at least 8
    for query in QUERIES:
        via_onnx = [h.unit_id for h in index.search_dense(query, 10)]
        via_embedder = [h.unit_id for h in embedder_index.search_dense(query, 10)]
        assert set(via_onnx[:3]) <= set(via_embedder[:5]) and set(via_embedder[:3]) <= set(via_onnx[:5]), query
        assert len(set(via_onnx) & set(via_embedder)) >= 8, query


def test_a_fresh_ask_never_imports_torch(home):
    code = (
        "import sys, json; from assistant.cli import main; "
        f"code = main(['ask', {QUERIES[0]!r}, '--collection', 'onnxq', '--json']); "
        "print('TORCH-LOADED', 'torch' in sys.modules, 'EXIT', code)"
    )
    env = {**os.environ, "FAGUI_HOME": str(home)}
    env.pop("FAGUI_QUERY_BACKEND", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last == "TORCH-LOADED False EXIT 0", last
    answer = json.loads(done.stdout[: done.stdout.rindex("TORCH-LOADED")])
    dense = [h for h in answer["hits"] if (h.get("scores") or {}).get("dense") is not None]
    assert dense and answer["timings_ms"]["embed"] > 0, "the answer used no query vector"


def test_bad_backend_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("FAGUI_QUERY_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="FAGUI_QUERY_BACKEND='tensorflow'"):
        query_backend()


@pytest.fixture(scope="module")
def law_documents():
    return finalize([read_document(REPO / "data/lawrefbook" / LAW, REPO / "data")])


def test_rebuild_reuses_the_export_and_a_failed_export_falls_back(law_documents, tmp_path, monkeypatch):
    import indexer.onnx_query as onnx_query

    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))  # an empty export cache
    target = tmp_path / "index"
    first = build_index(law_documents, target, IndexConfig(), progress=False)
    entry = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["model"]["query_model"]
    assert first.seconds["query_model"] > 0 and (target / QUERY_MODEL_FILE).is_file()

    real_export = onnx_query.export_query_model

    def no_export(*args, **kwargs):
        raise AssertionError("the unchanged model must not be exported again")

    monkeypatch.setattr(onnx_query, "export_query_model", no_export)
    build_index(law_documents, target, IndexConfig(), progress=False)
    again = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["model"]["query_model"]
    assert again == entry and file_sha256(target / QUERY_MODEL_FILE) == entry["sha256"]
    # A new index of the same model takes the export from the cache, not from torch.
    build_index(law_documents, tmp_path / "second", IndexConfig(), progress=False)
    assert file_sha256(tmp_path / "second" / QUERY_MODEL_FILE) == entry["sha256"]
    monkeypatch.setattr(onnx_query, "export_query_model", real_export)
    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "other-home"))  # no cached export here

    import torch

    def broken_export(*args, **kwargs):
        raise RuntimeError("exporter unavailable")

    monkeypatch.setattr(torch.onnx, "export", broken_export)
    # the branch where `auto` wants OpenVINO (a CPU with AMX-BF16), whatever this CPU is
    import indexer.embedder as embedder_module
    monkeypatch.setattr(embedder_module, "cpu_has_fast_bf16", lambda: True)
    other = tmp_path / "fallback"
    report = build_index(law_documents, other, IndexConfig(), progress=False)
    manifest = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"]["query_model"] == {"skipped": "export failed: RuntimeError: exporter unavailable"}
    # `auto` wanted OpenVINO, which needs the export: the build embedded with torch bf16 and says so.
    assert manifest["model"]["precision"] == "bf16"
    assert any("exporter unavailable" in w and "torch bf16 instead" in w for w in report.warnings)
    assert not (other / QUERY_MODEL_FILE).exists() and not list(other.glob(".*.tmp"))
    index = load_index(other)
    assert isinstance(index.dense.embedder._get(), Embedder)
    assert index.search_dense(QUERIES[0], 5) and report.units > 40
