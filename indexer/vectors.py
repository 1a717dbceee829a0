"""Vector and batch helpers shared by every embedder (sentence-transformers, OpenVINO,
ONNX Runtime queries): unit-length rows, token-budget batching, padding a batch of ids.

WHY one module: these were spread over `indexer/embedder.py` and `indexer/onnx_query.py`,
which then imported each other; here they depend on numpy only, and both import them.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Unit-length float32 rows (inner product = cosine in FAISS); zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def token_budget_batches(
    lengths: Sequence[int], batch_tokens: int, max_batch: int = 256, pad_multiple: int = 1
) -> list[list[int]]:
    """Indices grouped into batches, longest first, each with at most `batch_tokens`
    padded tokens (rows × longest row, rounded up to `pad_multiple`) — so short texts
    are never padded to the length of long ones."""
    lengths = [-(-n // pad_multiple) * pad_multiple for n in lengths]
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in order:
        width = max(longest, lengths[index])
        if current and (width * (len(current) + 1) > batch_tokens or len(current) >= max_batch):
            batches.append(current)
            current, width = [], lengths[index]
        current.append(index)
        longest = width
    if current:
        batches.append(current)
    return batches


def pad_batch(id_lists: Sequence[Sequence[int]], pad_id: int, wanted: Sequence[str], multiple: int = 1,
              type_ids: Sequence[Sequence[int]] | None = None) -> dict[str, np.ndarray]:
    """Model inputs for one batch: ids right-padded to the longest (rounded up to
    `multiple`), attention mask, token types (zero for single texts; `type_ids` for
    text pairs, where the second text is segment 1); only the inputs the model takes."""
    width = max(len(ids) for ids in id_lists)
    width = -(-width // multiple) * multiple
    input_ids = np.full((len(id_lists), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(id_lists), width), dtype=np.int64)
    types = np.zeros((len(id_lists), width), dtype=np.int64)
    for row, ids in enumerate(id_lists):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
        if type_ids is not None:
            types[row, : len(ids)] = type_ids[row]
    arrays = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}
    return {name: arrays[name] for name in wanted}
