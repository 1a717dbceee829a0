"""The real embedding model (the shipped embedder: m3e-small tuned by `fagui train`) on a
few dozen units, precisions, windows, the shipped folder's manifest, and refusal of an
index built with another model (a tiny random BERT folder)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from corpus import config
from corpus.hashing import file_sha256
from corpus.markdown import read_lawrefbook
from indexer import IndexConfig, IndexMismatchError, build_index, load_index
from indexer.embedder import Embedder
from indexer.models import base_model_path, default_model_path, weights_fingerprint
from indexer.passages import make_passages
from test_indexer import make_law

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAWREFBOOK = SHARED / "corpus" / "lawrefbook"
PIPL = LAWREFBOOK / "行政法" / "个人信息保护法(2021-08-20).md"


@pytest.fixture(scope="module")
def pipl_subset():
    """The first 30 articles of the Personal Information Protection Law."""
    doc = read_lawrefbook(PIPL, LAWREFBOOK)
    return doc.with_units(doc.articles()[:30])


@pytest.fixture(scope="module")
def fp32() -> Embedder:
    return Embedder(precision="fp32")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 1-layer random BERT saved as a plain transformers folder, which
    sentence-transformers wraps with mean pooling — a different model than m3e-small."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    bert = BertConfig(vocab_size=21128, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    BertModel(bert).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(base_model_path() / name, folder / name)
    return folder


def test_default_model_is_the_shipped_embedder_loaded_offline(fp32, monkeypatch):
    monkeypatch.delenv("FAGUI_MODEL", raising=False)
    assert fp32.model_path == default_model_path() == config.SHIPPED_EMBEDDER
    assert fp32.name == "fagui-embed-m3e-small"
    assert base_model_path().name == "m3e-small" and base_model_path().parent.name == "embedding"  # what it was tuned from
    vectors = fp32.encode(["个人信息处理者应当履行告知义务", "国家赔偿"])
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_batched_path_equals_plain_sentence_transformers(fp32, pipl_subset):
    texts = [p.indexed_text for p in make_passages([pipl_subset])]
    ours = fp32.encode(texts)
    plain = fp32.model.encode(texts, batch_size=32, normalize_embeddings=True)
    assert float((ours * plain).sum(axis=1).min()) > 0.99999


@pytest.mark.parametrize("precision, min_cosine", [("bf16", 0.999), ("int8", 0.98)])
def test_fast_precisions_stay_close_to_fp32(fp32, pipl_subset, precision, min_cosine):
    texts = [p.indexed_text for p in make_passages([pipl_subset])]
    fast = Embedder(precision=precision)
    assert fast.precision == precision and fast.vector_key != fp32.vector_key
    cosines = (fast.encode(texts) * fp32.encode(texts)).sum(axis=1)
    assert float(cosines.mean()) > min_cosine


def test_int8_scales_each_output_channel_and_keys_its_scheme(pipl_subset, monkeypatch):
    """Per-channel weight scales (INT8_SCHEME) keep passages closer to the fp32 query
    vectors (mean cosine on these articles 0.986 against 0.973 per tensor with the shipped
    embedder, 0.992 against 0.9855 with m3e-small); the scheme is part of `vector_key`, so
    the other scheme's cached vectors are not reused."""
    import torch

    from indexer import embedder as embedder_module

    int8 = Embedder(precision="int8")
    quantized = [m for m in int8.model.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert quantized and all(m.weight().qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric) for m in quantized)
    key = int8.vector_key
    monkeypatch.setattr(embedder_module, "INT8_SCHEME", "per-tensor")
    per_tensor = Embedder(precision="int8")
    assert per_tensor.vector_key != key
    texts = [p.indexed_text for p in make_passages([pipl_subset])]
    exact = Embedder(precision="fp32").encode(texts)
    assert (int8.encode(texts) * exact).sum(axis=1).mean() > (per_tensor.encode(texts) * exact).sum(axis=1).mean()


def test_the_shipped_embedder_is_what_its_manifest_says():
    """models/embedder/manifest.json: the weights' fingerprint (what index manifests
    record), at most 60 MB, m3e-small as the base, and every training file hashed as it is
    in the repository and ../shared today, so `fagui train` with the recorded command sees
    the same data."""
    manifest = json.loads((config.SHIPPED_EMBEDDER / "manifest.json").read_text(encoding="utf-8"))
    weights = config.SHIPPED_EMBEDDER / "model.safetensors"
    assert manifest["sha256"] == weights_fingerprint(config.SHIPPED_EMBEDDER)
    assert manifest["bytes"] == weights.stat().st_size <= 60 * 1024 * 1024
    assert manifest["base_model"] == "m3e-small" and manifest["base_fingerprint"] == weights_fingerprint(base_model_path())
    assert "fagui train" in manifest["command"] and manifest["settings"]["seed"] == 0
    where = {p.name: p for p in [*SHARED.glob("eval/*/*.jsonl"), *(config.REPO_ROOT / "eval/data/issue_probes").glob("*.jsonl")]}
    entries = [f for source in manifest["data"] for f in source.get("files", [source])]
    assert len(entries) == 28
    for entry in entries:
        assert file_sha256(where[entry["file"]]) == entry["sha256"], entry["file"]


def test_dense_index_finds_the_article_and_reloads_without_embedding(tmp_path, pipl_subset, fp32):
    index_dir = tmp_path / "idx"
    report = build_index([pipl_subset], index_dir, IndexConfig(precision="fp32", faiss_kind="flat"), progress=False, embedder=fp32)
    assert report.embedded == 30 and report.model == "fagui-embed-m3e-small"
    index = load_index(index_dir)  # lazy model: built again only for the query
    hits = index.search_dense("处理敏感个人信息需要取得个人的单独同意吗", k=5)
    numbers = [index.passage(h.passage_id).number for h in hits]
    assert "第二十九条" in numbers or "第十四条" in numbers


def test_long_unit_windows_score_as_their_best_window(tmp_path, fp32):
    long_text = (
        "国家机关为履行法定职责处理个人信息，应当依照法律、行政法规规定的权限、程序进行，不得超出履行法定职责所必需的范围和限度。" * 6
        + "数据处理者委托第三方建设维护电子政务系统的，受托方应当履行数据安全保护义务，不得擅自留存、使用、泄露或者向他人提供政务数据。" * 6
    )
    doc = make_law("测试法", [long_text, "本法自公布之日起施行。"])
    config = IndexConfig(precision="fp32", faiss_kind="flat", max_seq_length=256, overlap_chars=32)
    build_index([doc], tmp_path / "idx", config, progress=False, embedder=Embedder(precision="fp32", max_seq_length=256))
    index = load_index(tmp_path / "idx", embedder=Embedder(precision="fp32", max_seq_length=256))
    windows = [p for p in index.passages if p.unit_id == doc.units[0].unit_id]
    assert len(windows) >= 3 and all(len(p.indexed_text) <= 254 for p in windows)
    query = "受托方留存泄露政务数据"
    best = index.search_dense(query, k=2)[0]
    assert best.unit_id == doc.units[0].unit_id
    embedder = Embedder(precision="fp32", max_seq_length=256)
    window_scores = embedder.encode([p.indexed_text for p in windows]) @ embedder.encode_query(query)
    assert best.score == pytest.approx(float(window_scores.max()), abs=1e-4)
    assert best.passage_id == windows[int(window_scores.argmax())].passage_id


def test_other_model_folder_by_path_or_env_and_refusal_of_mixing(tmp_path, monkeypatch, pipl_subset, fp32, tiny_model_dir):
    tiny = Embedder(model_path=tiny_model_dir, precision="fp32")
    assert tiny.encode(["测试"]).shape == (1, 32)
    assert tiny.fingerprint == weights_fingerprint(tiny_model_dir) != fp32.fingerprint
    monkeypatch.setenv("FAGUI_MODEL", str(tiny_model_dir))
    assert Embedder(precision="fp32").model_path == tiny_model_dir
    monkeypatch.delenv("FAGUI_MODEL")

    index_dir = tmp_path / "idx"
    build_index([pipl_subset], index_dir, IndexConfig(precision="fp32", faiss_kind="flat"), progress=False, embedder=fp32)
    with pytest.raises(IndexMismatchError, match="built with model 'fagui-embed-m3e-small'"):
        load_index(index_dir, embedder=tiny)
    lazy = load_index(index_dir, model_path=str(tiny_model_dir))
    assert lazy.search_bm25("敏感个人信息", k=1)  # BM25 works without the model
    with pytest.raises(IndexMismatchError, match="rebuild the index"):
        lazy.search_dense("敏感个人信息")


def test_openvino_path_matches_fp32_and_yields_every_text_once(fp32, pipl_subset, tmp_path, monkeypatch):
    from indexer.openvino_embedder import OpenVINOEmbedder
    from indexer.store import make_embedder

    monkeypatch.setenv("FAGUI_HOME", str(tmp_path))  # the ONNX export is cached here
    texts = [p.indexed_text for p in make_passages([pipl_subset])]
    ov = make_embedder(IndexConfig(precision="ov-bf16"))
    assert isinstance(ov, OpenVINOEmbedder) and ov.precision == "ov-bf16"
    assert ov.fingerprint == fp32.fingerprint and ov.vector_key != fp32.vector_key  # same model, other vectors
    seen: list[int] = []
    for batch, vectors in ov.iter_encode(texts):
        assert vectors.shape == (len(batch), 512)
        seen += batch
    assert sorted(seen) == list(range(len(texts)))  # every text exactly once, whatever the order
    cosines = (ov.encode(texts) * fp32.encode(texts)).sum(axis=1)
    assert float(cosines.min()) > 0.9995
    assert list(ov.iter_encode([])) == [] and list((tmp_path / "cache" / "onnx").glob("*.onnx"))


def test_bf16_counts_as_fast_only_with_amx():
    """AVX512-BF16 without AMX ran bf16 slower than fp32 (bf16_is_fast's docstring), so
    only the AMX flag makes `auto` pick a bf16 path; a flag that merely contains the
    letters (a made-up amx_bf16x) does not count."""
    from indexer.embedder import bf16_is_fast

    assert bf16_is_fast("fpu sse avx512f avx512_bf16 amx_bf16 amx_tile amx_int8")
    assert not bf16_is_fast("fpu sse avx512f avx512_bf16 avx512_fp16 avx512_vnni")
    assert not bf16_is_fast("fpu sse amx_bf16x")
    assert not bf16_is_fast("")


def test_auto_precision_and_which_class_runs_what():
    from indexer.embedder import cpu_has_fast_bf16, resolve_precision
    from indexer.openvino_embedder import OpenVINOEmbedder

    native = cpu_has_fast_bf16()
    assert resolve_precision("auto", openvino=True) == ("ov-bf16" if native else "int8")
    assert resolve_precision("auto", openvino=False) == ("bf16" if native else "int8")
    assert Embedder(precision="auto").precision in ("bf16", "int8")  # torch never picks OpenVINO
    with pytest.raises(ValueError, match="Embedder does not run precision 'ov-bf16'"):
        Embedder(precision="ov-bf16")
    with pytest.raises(ValueError, match="OpenVINOEmbedder does not run precision 'fp32'"):
        OpenVINOEmbedder(precision="fp32")
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        resolve_precision("fp8")


def test_weights_fingerprint_is_remembered_by_stamp_and_rehashed_when_a_file_changes(tmp_path, monkeypatch):
    """The fingerprint cache (FAGUI_HOME/cache) spares a new process the hashing, and never
    returns a stale hash: a rewritten weights file is hashed again, a damaged cache file
    is ignored."""
    import hashlib

    from indexer import models

    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))
    folder = tmp_path / "model"
    folder.mkdir()
    weights = folder / "model.safetensors"
    weights.write_bytes(b"first weights")

    def reference(content: bytes) -> str:  # the definition, computed by hand
        return hashlib.sha256(b"model.safetensors\0" + content).hexdigest()

    with monkeypatch.context() as patch:
        patch.setattr(models, "RACY_NS", 0)  # the file was written just now
        assert weights_fingerprint(folder) == reference(b"first weights")
        assert (tmp_path / "home" / "cache" / models.FINGERPRINT_CACHE_FILE).is_file()
        patch.setattr(models, "_hash_files", lambda paths: pytest.fail("hashed again although remembered"))
        assert weights_fingerprint(folder) == reference(b"first weights")

    weights.write_bytes(b"other weights")  # same size, new content
    assert weights_fingerprint(folder) == reference(b"other weights")
    (tmp_path / "home" / "cache" / models.FINGERPRINT_CACHE_FILE).write_text("{not json", encoding="utf-8")
    assert weights_fingerprint(folder) == reference(b"other weights")


def test_a_plain_file_hash_is_remembered_and_redone_when_the_file_changes(tmp_path, monkeypatch):
    """remembered_file_sha256 (the reranker's check): the file's own sha256, from the cache
    while its stamp holds, hashed again once the file is rewritten."""
    import hashlib

    from corpus import hashing
    from indexer import models

    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"reranker weights")
    with monkeypatch.context() as patch:
        patch.setattr(models, "RACY_NS", 0)
        assert models.remembered_file_sha256(onnx) == hashlib.sha256(b"reranker weights").hexdigest()
        patch.setattr(models, "file_sha256", lambda path: pytest.fail("hashed again although remembered"))
        assert models.remembered_file_sha256(onnx) == hashlib.sha256(b"reranker weights").hexdigest()
    onnx.write_bytes(b"altered weights!")  # same size, new content
    assert models.remembered_file_sha256(onnx) == hashing.file_sha256(onnx) == hashlib.sha256(b"altered weights!").hexdigest()
