"""Query embedding without torch: the model exported to ONNX once, run by ONNX Runtime.

WHY: answering a question needs one short vector, but importing sentence-transformers
(torch, transformers, scikit-learn) takes ~5 s and ~500 MB before the first answer
(measured with `python -X importtime` and `fagui bench`). So every dense index build
also writes `query.onnx` — the model's fp32 forward pass with its pooling, exported by
`torch.onnx` while torch is loaded anyway — and a loaded index embeds queries with
ONNX Runtime and the model's own `tokenizer.json` (the Rust `tokenizers` library).

Safety: the export is verified before it is kept — ONNX Runtime and sentence-
transformers must give the same vectors (cosine ≥ `MIN_COSINE`) on probe texts from
the collection itself. A model that cannot be exported, or fails the check, simply
gets no `query.onnx`, and queries go through the index's own embedder (sentence-
transformers, or OpenVINO for `ov-bf16` indexes; also forced with
FAGUI_QUERY_BACKEND=embedder). Query vectors from `query.onnx` are exact fp32; the
passages keep the precision the index was built with.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from corpus import config
from corpus.hashing import file_sha256
from indexer.models import fp32_model_kwargs, quiet_transformers, weights_fingerprint
from indexer.vectors import normalize_rows, pad_batch

QUERY_MODEL_FILE = "query.onnx"
MIN_COSINE = 0.9999
ONNX_OPSET = 17
#: Threads of the query model. WHY 2: a plain-word question is long (domain_lay_dev: 157
#: tokens median, up to 192) and its embedding took 52–54 ms on one thread, 31 ms on two
#: (median; p95 58–64 → 36–41 ms), a sixth of a long question's answer; short STARD
#: questions gain little either way. The reranker's lanes default to the same number (one
#: single-threaded session per core, indexer/rerank.py LANES): the cores one answer uses.
QUERY_THREADS = 2
#: Tokenizer outputs a BERT-style model may take, in export order.
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def export_query_model(model_path: Path, max_seq_length: int, out: Path, probes: Sequence[str]) -> dict:
    """Export the fp32 sentence-transformers model at `model_path` to `out` and verify it.

    Returns a manifest entry: {"file", "sha256", "min_cosine", "inputs"} when kept, or
    {"skipped": reason} when the export failed or did not match (no file is left)."""
    config.prepare_model_runtime()
    # torch and sentence-transformers only for the export at build time (seconds, ~500 MB);
    # answering queries with the export needs neither
    import torch
    from sentence_transformers import SentenceTransformer

    quiet_transformers()
    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True, model_kwargs=fp32_model_kwargs())
    model.max_seq_length = max_seq_length
    model.eval()
    sample = model.tokenizer(["示例文本"] * 2, padding="max_length", max_length=16, return_tensors="pt")
    names = [name for name in INPUT_NAMES if name in sample]

    class Forward(torch.nn.Module):
        """Positional tensors in, the pooled (and, if the model does so, normalised) vector out."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(dict(zip(names, tensors)))["sentence_embedding"]

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        axes = {name: {0: "batch", 1: "tokens"} for name in names}
        axes["embedding"] = {0: "batch"}
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about constant shapes checks; verified below
            torch.onnx.export(Forward(model), tuple(sample[name] for name in names), str(tmp), input_names=names,
                              output_names=["embedding"], dynamic_axes=axes, opset_version=ONNX_OPSET, dynamo=False)
        texts = [t for t in probes if t][:16] or ["示例文本"]
        reference = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        candidate = OnnxQueryEmbedder(tmp, model_path, max_seq_length).encode(texts)
        min_cosine = float((reference * candidate).sum(axis=1).min())
        if min_cosine < MIN_COSINE:
            tmp.unlink(missing_ok=True)
            return {"skipped": f"ONNX vectors differ from sentence-transformers (min cosine {min_cosine:.6f})"}
        os.replace(tmp, out)
    except Exception as exc:  # noqa: BLE001 - any export failure only means queries use torch
        tmp.unlink(missing_ok=True)
        return {"skipped": f"export failed: {type(exc).__name__}: {str(exc)[:200]}"}
    return {"file": out.name, "sha256": file_sha256(out), "min_cosine": round(min_cosine, 7), "inputs": names}


#: Probe texts the export is verified on: short and long (truncated at the window),
#: article-like and question-like.
PROBES = (
    "中华人民共和国数据安全法 第六章 法律责任 第四十五条\n开展数据处理活动的组织、个人不履行本法第二十七条规定的数据安全保护义务的，由有关主管部门责令改正。",
    "受托企业泄露政务数据，委托的行政机关要承担什么责任？",
    "健康码误判",
    "国家机关及其工作人员在行使职权时侵犯公民合法权益造成损害的，受害人有依照本法取得国家赔偿的权利。" * 12,
)


def _export_code_fingerprint() -> str:
    """This module's source: a change to how the model is exported invalidates the cache."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def cached_export(model_path: Path, max_seq_length: int) -> tuple[Path | None, dict]:
    """The verified fp32 ONNX export of a model folder, made once per (weights, window,
    export code) under $FAGUI_HOME/cache/onnx/ and reused by every later build and by
    the OpenVINO embedder. Returns (path, manifest entry), or (None, {"skipped": why})."""
    key = f"{weights_fingerprint(model_path)[:24]}-{max_seq_length}-{_export_code_fingerprint()}"
    path = config.fagui_home() / "cache" / "onnx" / f"{key}.onnx"
    meta = path.with_suffix(".json")
    try:
        entry = json.loads(meta.read_text(encoding="utf-8"))
        if path.is_file() and entry.get("sha256") == file_sha256(path):
            return path, entry
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = export_query_model(model_path, max_seq_length, path, PROBES)
    if "skipped" in entry:
        return None, entry
    tmp = meta.with_name(f".{meta.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(entry), encoding="utf-8")
    os.replace(tmp, meta)
    return path, entry


class OnnxQueryEmbedder:
    """`encode_query(text)` → unit vector with ONNX Runtime; imports neither torch nor
    transformers when the model folder has a `tokenizer.json`."""

    def __init__(self, onnx_path: Path, model_path: Path, max_seq_length: int = 512):
        self.onnx_path = Path(onnx_path)
        self.model_path = Path(model_path)
        self.max_seq_length = max_seq_length
        self._session = None
        self._tokenize = None
        self._pad_id = 0
        self._inputs: list[str] = []

    def _load(self) -> None:
        import onnxruntime as ort  # only when a query is first embedded (an index may be BM25-only)

        options = ort.SessionOptions()
        # One query per call on QUERY_THREADS threads, no spinning (idle threads sleep, so
        # concurrent requests of `fagui serve` do not burn each other's cores).
        options.intra_op_num_threads = QUERY_THREADS
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in session.get_inputs()]
        self._tokenize, self._pad_id = token_ids(self.model_path, self.max_seq_length)
        self._session = session

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for a few texts, shape (len(texts), dim), L2-normalised float32."""
        if self._session is None:
            self._load()
        feeds = pad_batch(self._tokenize(list(texts)), self._pad_id, self._inputs)
        return normalize_rows(self._session.run(None, feeds)[0])

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([query])[0]


def token_ids(model_path: Path, max_seq_length: int):
    """(texts → token id lists, truncated at the window; pad id), with the tokenizer the
    exported model is fed by. Tokenising a whole build at once and padding per batch in
    numpy keeps the tokenizer's own threads out of the way of the inference threads."""
    tokenizer_file = model_path / "tokenizer.json"
    if tokenizer_file.is_file():
        from tokenizers import Tokenizer  # only for dense indexes, at first use

        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_seq_length)
        pad = tokenizer.token_to_id("[PAD]")
        return (lambda texts: [e.ids for e in tokenizer.encode_batch(list(texts))]), (pad if pad is not None else 0)
    from transformers import AutoTokenizer  # the slow fallback (seconds to import): no tokenizer.json

    auto = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
    return (lambda texts: auto(list(texts), truncation=True, max_length=max_seq_length)["input_ids"]), auto.pad_token_id or 0

