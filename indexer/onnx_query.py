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
gets no `query.onnx`, and queries go through sentence-transformers as before (also
forced with FAGUI_QUERY_BACKEND=torch). Query vectors are exact fp32 either way; the
passages keep the precision the index was built with.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from corpus.catalog import file_sha256

QUERY_MODEL_FILE = "query.onnx"
QUERY_BACKEND_ENV = "FAGUI_QUERY_BACKEND"
MIN_COSINE = 0.9999
ONNX_OPSET = 17
#: Tokenizer outputs a BERT-style model may take, in export order.
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def query_backend() -> str:
    """`onnx` (default: use query.onnx when the index has one) or `torch`."""
    backend = os.environ.get(QUERY_BACKEND_ENV, "onnx").strip().lower() or "onnx"
    if backend not in ("onnx", "torch"):
        raise ValueError(f"{QUERY_BACKEND_ENV}={backend!r}: use 'onnx' or 'torch'")
    return backend


def export_query_model(model_path: Path, max_seq_length: int, out: Path, probes: Sequence[str]) -> dict:
    """Export the fp32 sentence-transformers model at `model_path` to `out` and verify it.

    Returns a manifest entry: {"file", "sha256", "min_cosine", "inputs"} when kept, or
    {"skipped": reason} when the export failed or did not match (no file is left)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from sentence_transformers import SentenceTransformer

    _quiet_transformers()
    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
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


class OnnxQueryEmbedder:
    """`encode_query(text)` → unit vector with ONNX Runtime; imports neither torch nor
    transformers when the model folder has a `tokenizer.json`."""

    def __init__(self, onnx_path: Path, model_path: Path, max_seq_length: int = 512):
        self.onnx_path = Path(onnx_path)
        self.model_path = Path(model_path)
        self.max_seq_length = max_seq_length
        self._session = None
        self._tokenize = None

    def _load(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One short query per call: one thread, and no spinning, so concurrent requests
        # of `fagui serve` share the two cores instead of fighting over them.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])
        wanted = [i.name for i in session.get_inputs()]
        self._tokenize = _tokenizer(self.model_path, self.max_seq_length, wanted)
        self._session = session

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for a few texts, shape (len(texts), dim), L2-normalised float32."""
        if self._session is None:
            self._load()
        feeds = self._tokenize(list(texts))
        vectors = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([query])[0]


def _tokenizer(model_path: Path, max_seq_length: int, wanted: list[str]):
    """A function texts → {input name: int64 array} padded to the longest text.

    Prefers the folder's `tokenizer.json` through `tokenizers` (fast to import); a
    folder with only `vocab.txt` falls back to transformers' AutoTokenizer."""
    tokenizer_file = model_path / "tokenizer.json"
    if tokenizer_file.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(max_length=max_seq_length)
        tokenizer.enable_padding()

        def encode(texts: list[str]) -> dict[str, np.ndarray]:
            encodings = tokenizer.encode_batch(texts)
            arrays = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            return {name: arrays[name] for name in wanted}

        return encode

    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)

    def encode_auto(texts: list[str]) -> dict[str, np.ndarray]:
        batch = auto(texts, padding=True, truncation=True, max_length=max_seq_length, return_tensors="np")
        return {name: np.asarray(batch[name], dtype=np.int64) for name in wanted}

    return encode_auto


def _quiet_transformers() -> None:
    """No "Loading weights" bar from transformers: our own bars (tqdm, off with --quiet
    and in CI) are the only progress output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
