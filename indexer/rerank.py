"""Cross-encoder reranking without torch: a (question, article) scorer run by ONNX Runtime.

WHY: the bi-encoder (m3e-small) embeds question and article separately, so it cannot
see which words of the question the article answers; BM25 only counts shared words.
A cross-encoder reads the question and one article together and scores the pair. It is
too slow to score a collection, so it reorders only the fused top candidates.

A reranker is a folder (`RERANKER_FILES`): `model.onnx` (the exported cross-encoder,
int8 dynamic quantisation), `tokenizer.json` (the Rust `tokenizers` library: no
transformers import at query time) and `manifest.json` (sha256 of the weights, base
model, training data and settings, the command that reproduces it, held-out figures;
written by eval/train_rerank.py). The shipped one is `models/reranker/` in the
repository, loaded by path like the embedding model; nothing is ever downloaded.

`rerank_text(doc, unit)` is the one definition of what the reranker reads for an
article — training and inference both call it, so they cannot drift apart.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from corpus.hashing import file_sha256
from indexer.hits import RRF_C
from indexer.models import remembered_file_sha256
from indexer.onnx_query import QUERY_THREADS
from indexer.passages import context_line
from indexer.vectors import pad_batch

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
RERANKER_FILES = (MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE)
#: ONE_PAIR_PER_CALL: `score` runs one pair per ONNX call. WHY: int8 dynamic quantisation
#: scales activations per call, so in a batch of 8 a pair's score moved by up to 0.15 with
#: its batch-mates (the same article scored differently for the same question depending on
#: the other candidates). One pair per call makes a score a function of the pair alone, for
#: 15 % more time (STARD dev, top 15: 179 vs 156 ms per question) and no loss of quality
#: (R@10 0.573 either way).
#:
#: LANES: the pairs are scored on `threads` single-threaded ONNX sessions at once (pair i on
#: lane i mod threads), not on one session that spreads each call over `threads` cores. WHY:
#: one pair is a small matrix product, so a call parallelised over 2 cores ran only ~1.3×
#: faster than on one core, while two whole calls side by side run ~2× (ONNX Runtime
#: releases the GIL). Measured on 20 domain_lay_dev questions × 15 articles (160 tokens per
#: pair): 240 → 182 ms per question (p95 287 → 191 ms), the same scores to the last bit (each
#: is still one pair per call), ~15 MB more memory for the second session.


def rerank_order(ranked: Sequence[str], scores: dict[str, float], depth: int, blend: float) -> list[str]:
    """The final order: the top `depth` candidates reordered, the rest unchanged.

    `blend` = 0 sorts the top by reranker score alone; > 0 adds reciprocal-rank fusion of
    the reranker's order and the retrieval order (weight `blend` for retrieval), which
    keeps a strong retrieval signal (the issue map, exact BM25 matches) in play."""
    head, tail = list(ranked[:depth]), list(ranked[depth:])
    position = {u: r for r, u in enumerate(head, start=1)}  # ties keep the retrieval order
    by_score = sorted(head, key=lambda u: (-scores[u], position[u]))
    if blend <= 0:
        return by_score + tail
    rerank_rank = {u: r for r, u in enumerate(by_score, start=1)}
    fused = {u: 1 / (RRF_C + rerank_rank[u]) + blend / (RRF_C + position[u]) for u in head}
    return sorted(head, key=lambda u: (-fused[u], position[u])) + tail


class RerankerError(Exception):
    """A reranker folder that is missing, incomplete or altered (names the folder)."""


def rerank_text(doc, unit) -> str:
    """What the reranker reads for an article: the index's context line (title, part,
    headings, number) and the article text — the same text the first window indexes."""
    context = context_line(doc, unit)
    return f"{context}\n{unit.text}" if context else unit.text


@dataclass(frozen=True)
class RerankerInfo:
    """Identity of a loaded reranker, recorded by `fagui eval` and `fagui bench`."""

    name: str
    sha256: str
    max_length: int
    base_model: str

    def to_dict(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "max_length": self.max_length, "base_model": self.base_model}


def read_manifest(folder: Path) -> dict:
    """The folder's manifest, checked: every file present, the weights' sha256 as recorded."""
    folder = Path(folder)
    missing = [name for name in RERANKER_FILES if not (folder / name).is_file()]
    if missing:
        raise RerankerError(f"{folder}: not a reranker folder (missing {', '.join(missing)})")
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RerankerError(f"{folder / MANIFEST_FILE}: not valid JSON ({exc})") from exc
    if manifest.get("sha256") != remembered_file_sha256(folder / MODEL_FILE):
        raise RerankerError(f"{folder / MODEL_FILE}: sha256 differs from the manifest (altered or truncated file)")
    return manifest


class Reranker:
    """`score(question, texts)` → one relevance logit per text (higher = more relevant)."""

    def __init__(self, folder: Path, threads: int = QUERY_THREADS):
        folder = Path(folder)
        self._attach(folder / MODEL_FILE, folder / TOKENIZER_FILE, read_manifest(folder), threads)

    @classmethod
    def from_files(cls, model_file: Path, tokenizer_file: Path, max_length: int, threads: int = QUERY_THREADS) -> "Reranker":
        """A reranker over an ONNX file and a tokenizer that are not (yet) a checked folder:
        training scores its exports through exactly this inference code before it writes
        the folder and its manifest."""
        reranker = cls.__new__(cls)
        reranker._attach(Path(model_file), Path(tokenizer_file),
                         {"sha256": file_sha256(model_file), "max_length": max_length}, threads)
        return reranker

    def _attach(self, model_file: Path, tokenizer_file: Path, manifest: dict, threads: int) -> None:
        """The one place a reranker's state is set (both constructors); the ONNX session
        and the tokenizer load at the first `score`."""
        self.folder = model_file.parent
        self.model_file, self.tokenizer_file, self.manifest = model_file, tokenizer_file, manifest
        self.max_length = int(manifest.get("max_length", 160))
        self.threads = max(1, int(threads))
        self._sessions: list = []  # one single-threaded ONNX session per lane (LANES)
        self._pool: ThreadPoolExecutor | None = None  # runs the lanes side by side (threads > 1)
        self._tokenizer = None
        self._inputs: list[str] = []

    @property
    def info(self) -> RerankerInfo:
        return RerankerInfo(self.manifest.get("name", self.folder.name), self.manifest["sha256"],
                            self.max_length, self.manifest.get("base_model", ""))

    def _load(self) -> None:
        import onnxruntime as ort  # at the first rerank: an index opened for lookup only never pays for it
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        # The reranker is the one expensive step of an answer: every core, one lane each
        # (LANES), no spinning.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sessions = [ort.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])
                    for _ in range(self.threads)]
        tokenizer = Tokenizer.from_file(str(self.tokenizer_file))
        tokenizer.no_padding()
        # pairs are cut longest-first, like transformers' default: a long lay question and a
        # long article both keep their beginnings
        tokenizer.enable_truncation(max_length=self.max_length, strategy="longest_first")
        self._inputs = [i.name for i in sessions[0].get_inputs()]
        self._tokenizer = tokenizer
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="rerank") if self.threads > 1 else None
        self._sessions = sessions

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """Relevance logits of `(question, text)` pairs, in the order of `texts`."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        if not self._sessions:
            self._load()
        encodings = self._tokenizer.encode_batch([(question, text) for text in texts])
        pad = self._tokenizer.token_to_id("[PAD]") or 0
        # one pair per call (ONE_PAIR_PER_CALL), the calls spread over the lanes (LANES)
        feeds = [pad_batch([e.ids], pad, self._inputs, type_ids=[e.type_ids]) for e in encodings]
        out = np.zeros(len(texts), dtype=np.float32)
        lanes = min(len(self._sessions), len(feeds))

        def run_lane(lane: int) -> None:
            session = self._sessions[lane]
            for i in range(lane, len(feeds), lanes):
                out[i] = session.run(None, feeds[i])[0].reshape(-1)[0]

        if lanes == 1:
            run_lane(0)
        else:  # threads > 1, so the pool exists
            list(self._pool.map(run_lane, range(lanes)))  # list(): re-raises a lane's error
        return out
