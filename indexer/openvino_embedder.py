"""Passage embedding with OpenVINO in bfloat16: the fast indexing path (`ov-bf16`).

WHY: on this machine's CPU (AMX-BF16) torch's bf16 path reaches ~200 passages/s, 3.3x
plain fp32 sentence-transformers; OpenVINO runs the same verified ONNX export of the
model (indexer.onnx_query.cached_export) with fused BERT kernels in bf16 at ~270
passages/s, 4.4x (`python -m eval.speed`, eval/reports/SPEED.md). Its vectors have cosine
0.99999 to the fp32 ones, and dense Recall@10 on STARD moves by less than 0.1 point.

How: texts are tokenised with the model's own `tokenizer.json`, sorted by length and
packed into batches of at most `batch_tokens` padded tokens (as in `Embedder`); two
inference requests alternate (two OpenVINO streams on the two cores), so one batch is
prepared while the other runs. The result of each batch is yielded as soon as it is
done, so the embedding cache can be flushed batch by batch, as with torch.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from typing import Iterator, Sequence

import numpy as np

from indexer.embedder import TOKENIZE_CHUNK, Embedder
from indexer.onnx_query import cached_export, token_ids
from indexer.vectors import normalize_rows, pad_batch, token_budget_batches

STREAMS = 2
_COMPILE_LOCK = threading.Lock()


def token_arrays(tokenize, texts: Sequence[str], chunk: int = TOKENIZE_CHUNK) -> list[np.ndarray]:
    """The token ids of every text as compact int32 arrays, tokenised `chunk` texts at a time.

    WHY: the ids of a whole collection as Python int lists (with the tokenizer's
    Encoding objects of every text alive at once) took 1.9 GB of RSS for the 63,671
    passages of `default`, and the allocator kept 1.6 GB of it after they were freed;
    int32 arrays built chunk by chunk take under 0.2 GB."""
    arrays: list[np.ndarray] = []
    for start in range(0, len(texts), chunk):
        arrays.extend(np.asarray(ids, dtype=np.int32) for ids in tokenize(texts[start : start + chunk]))
    return arrays


class OpenVINOUnavailableError(RuntimeError):
    """OpenVINO is missing or the model could not be exported to ONNX; the message says which."""


class _CompiledModel:
    """The compiled OpenVINO model, its tokenizer (texts → id lists), pad id and inputs."""

    def __init__(self, compiled, tokenize, pad_id: int, inputs: list[str], dim: int):
        self.compiled = compiled
        self.tokenize = tokenize
        self.pad_id = pad_id
        self.inputs = inputs
        self.dim = dim


class OpenVINOEmbedder(Embedder):
    """Same interface, identity and cache keys as `Embedder` (precision `ov-bf16`)."""

    RUNS = ("ov-bf16",)
    OPENVINO = True

    def _load(self) -> _CompiledModel:
        try:
            import openvino as ov  # optional, and seconds to import: only for ov-bf16 builds
        except ImportError:
            raise OpenVINOUnavailableError(
                "precision ov-bf16 needs the `openvino` package; install the project dependencies or use --precision bf16"
            ) from None

        onnx_path, entry = cached_export(self.model_path, self.max_seq_length)
        if onnx_path is None:
            raise OpenVINOUnavailableError(f"{self.model_path}: cannot run with OpenVINO ({entry['skipped']}); use --precision bf16")
        core = ov.Core()
        config = {"INFERENCE_PRECISION_HINT": "bf16", "NUM_STREAMS": STREAMS,
                  "INFERENCE_NUM_THREADS": self.threads or os.cpu_count() or 2}
        with _COMPILE_LOCK:
            compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", config)
        inputs = [port.get_any_name() for port in compiled.inputs]
        dim = int(compiled.outputs[0].get_partial_shape()[1].get_length())
        tokenize, pad_id = token_ids(self.model_path, self.max_seq_length)
        return _CompiledModel(compiled, tokenize, pad_id, inputs, dim)

    @property
    def dim(self) -> int:
        return self.model.dim

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in token_arrays(self.model.tokenize, texts)]

    def iter_encode(self, texts: Sequence[str], progress: bool = False, desc: str = "embedding") -> Iterator[tuple[list[int], np.ndarray]]:
        """Yield (indices, unit-length float32 vectors) per batch, longest texts first,
        with two batches in flight."""
        from corpus.progress import progress_bar  # tqdm costs ~0.2 s to import: only where a bar is drawn

        if not texts:
            return
        model = self.model
        requests = deque(model.compiled.create_infer_request() for _ in range(STREAMS))
        in_flight: deque = deque()
        ids = token_arrays(model.tokenize, texts)  # once for the whole call; padded per batch below
        batches = token_budget_batches([len(i) for i in ids], self.batch_tokens, pad_multiple=self.pad_multiple)
        with progress_bar(total=len(texts), desc=desc, unit="passage", disable=not progress) as bar:
            for batch in batches:
                if not requests:
                    yield self._collect(in_flight, requests, bar)
                request = requests.popleft()
                request.start_async(pad_batch([ids[i] for i in batch], model.pad_id, model.inputs, self.pad_multiple))
                in_flight.append((request, batch))
            while in_flight:
                yield self._collect(in_flight, requests, bar)

    @staticmethod
    def _collect(in_flight: deque, requests: deque, bar) -> tuple[list[int], np.ndarray]:
        """Wait for the oldest batch in flight, free its request, return its vectors."""
        request, batch = in_flight.popleft()
        request.wait()
        vectors = normalize_rows(request.get_output_tensor(0).data)  # a copy: the request is reused next
        requests.append(request)
        bar.update(len(batch))
        return batch, vectors
