"""Fine-tune the embedding model on annotated questions: `fagui train` / `python -m eval.train`.

What it does. Every annotated question (default: the STARD training questions,
`../shared/eval/stard/stard_train.jsonl`) is paired with the indexed text of each of its
gold articles, formatted exactly like an indexed passage (`Passage.indexed_text`:
context line + article text), optionally with one hard negative: the best BM25 hit for
the question that is not one of its gold articles. The model (default m3e-small) is
trained with MultipleNegativesRankingLoss (InfoNCE with in-batch negatives) through
sentence-transformers' `old_fit` loop and saved as an ordinary sentence-transformers
folder, usable with `fagui index --model PATH` or FAGUI_MODEL=PATH.

Why `old_fit` and not `SentenceTransformerTrainer`: the trainer (and the new `fit`,
which wraps it) needs the `datasets` and `accelerate` packages; `old_fit` needs only
torch, runs offline and is the same library's loop. `DistinctTextBatches` keeps a
text from appearing twice in a batch, so two questions citing the same article never
serve as each other's false negatives.

Honesty. `split_questions` splits by a hash of the question id (stable across runs,
machines and seeds). With `holdout > 0` only the training part is used for training;
`python -m eval.train --holdout 0.2 --evaluate` then measures the base and the
tuned model on the held-out part over the full national collection, with the same
recall function as eval/speed.py, and writes eval/reports/TRAIN.md. `fagui train`
(holdout 0) trains on every question: numbers on those questions are in-sample.

Runs on CPU in fp32 (bf16 training is not reliable on CPU), `threads` torch threads;
HF_HUB_OFFLINE=1 so nothing is ever downloaded.

Several sources (issue 14; `fagui train` with no options). `train_model(sources=...)`
trains on several question files, each against the built index of the collection its
questions are asked against (`default_sources()`: the reranker's data, eval/train_rerank.py
`DEFAULT_SOURCES` — STARD on `national`, the domain sets on `default`). Only the training
part of each file is read (`trainable`: neither held out nor the STARD dev slice under the
file's fixed rule, eval/splits.py), so no run can see a held-out question. Gold articles
are resolved by the pipeline (`Pipeline.resolve`, as `fagui eval` resolves them); each
question gets a BM25- and a dense-mined hard negative (the top non-gold hit of each
retriever of the prebuilt index, whose vectors are the base model's, so nothing is
re-embedded), and a question's pairs take them in turn. A source's pairs are repeated
`weight` times (the domain sets: `DOMAIN_WEIGHT`, as for the reranker), so a few dozen
domain questions are not drowned by STARD's ~900.

The issue map as data (`fagui train --issue-map`, `issue_map_pairs`): pseudo-questions
written from the map's own words for each provision it lists. Measured (held out,
eval/reports/EMBEDDER-MAP.md): STARD up as with the questions alone, the domain split
down a little, so it is off by default.

The tuning probes as data (`fagui train --issue-probes`, `issue_probe_pairs`): the
questions of the issue map's tuning probe sets, each with a provision of its issue
(eval/reports/EMBEDDER-PROBES.md: held out, the fp32 model beat m3e-small on both splits;
eval/reports/EMBEDDER-SHIPPED.md: in the fp16 form it would ship, re-embedded in int8, not on
the domain split, so it is not the default).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import secrets
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from assistant.issue_map import ROLE_PRIORITY
from corpus.config import fagui_home, prepare_model_runtime
from corpus.catalog import load_collection
from corpus.errors import UsageError
from eval.issue_probes import PROBE_SETS, load_probes, probe_set_path
from eval.questions import load_questions
from eval.speed import load_stard, recall_at_k
from eval.splits import heldout_bucket, is_dev, is_heldout, rule_for_file
from indexer.bm25 import BM25Retriever
from indexer.models import fp32_model_kwargs, resolve_base_model, resolve_model_path, weights_fingerprint
from indexer.passages import make_passages
from indexer.segment import Segmenter, build_user_dictionary
from indexer.store import IndexConfig, build_index, load_index, make_embedder

REPO = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = REPO.parent / "shared" / "eval" / "stard" / "stard_train.jsonl"
DEFAULT_REPORT = Path(__file__).resolve().parent / "reports" / "TRAIN.md"
#: Written into the model folder: how it was made (the fingerprint ignores it).
TRAIN_INFO_FILE = "fagui_train.json"
#: How many BM25 hits are searched for a hard negative.
HARD_NEGATIVE_DEPTH = 20


@dataclass(frozen=True)
class TrainingPair:
    """One training example: a question and one gold article's indexed text
    (and, optionally, the indexed text of a non-gold article BM25 ranks high)."""

    question_id: str
    question: str
    positive: str
    negative: str | None = None
    group: str = ""  # pairs of one group never share a batch (the issue map's pairs of one issue)


@dataclass(frozen=True)
class TrainSource:
    """One question file, the collection its questions are asked against, and how many
    times each of its pairs is repeated in the training data."""

    questions: Path
    collection: str
    weight: int = 1


@dataclass(frozen=True)
class Mined:
    """One training question with its resolved gold units and each retriever's ranking
    (unit ids, best first) in the collection it is asked against."""

    question_id: str
    question: str
    gold: tuple[str, ...]
    missing: tuple[str, ...]  # gold references the collection does not resolve
    bm25: tuple[str, ...] = ()
    dense: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines the trained weights (recorded in the model folder)."""

    epochs: int = 1
    batch_size: int = 32
    holdout: float = 0.0
    seed: int = 0
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    max_seq_length: int = 128
    hard_negatives: bool = True
    threads: int = 2
    dense_negatives: bool = False
    issue_map: bool = False
    issue_probes: bool = False


@dataclass
class TrainReport:
    """What `train_model` did: data used, settings, time, machine load, result."""

    out_dir: str
    base_model: str
    base_fingerprint: str
    fingerprint: str
    questions_path: str
    questions: int
    train_questions: int
    heldout_questions: int
    questions_without_gold_passage: int
    pairs: int
    pairs_with_hard_negative: int
    steps: int
    settings: dict
    seconds: dict[str, float] = field(default_factory=dict)
    load_average: dict[str, float] = field(default_factory=dict)
    missing_gold: list[str] = field(default_factory=list)
    created: str = ""
    sources: list[dict] = field(default_factory=list)  # per source: file, collection, weight, counts

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- data


def split_questions(questions: Sequence, holdout: float) -> tuple[list, list]:
    """(train, held-out): a question is held out iff its id's bucket is below `holdout`."""
    if not 0.0 <= holdout < 1.0:
        raise UsageError(f"holdout must be in [0, 1), got {holdout}")
    train, heldout = [], []
    for question in questions:
        (heldout if heldout_bucket(question.id) < holdout else train).append(question)
    return train, heldout


def gold_passages(passages: Sequence) -> dict[tuple[str, str], object]:
    """(law title, article label) → the unit's first window: what a gold article
    looks like in the index. The first document with that title wins (passage order)."""
    by_name: dict[tuple[str, str], object] = {}
    for passage in passages:
        if passage.window == 0 and passage.number:
            by_name.setdefault((passage.title, passage.number), passage)
    return by_name


def make_pairs(questions: Sequence, passages: Sequence, bm25=None) -> tuple[list[TrainingPair], list[str]]:
    """One pair per (question, gold article found in the passages); with `bm25`, each
    pair gets the best-ranked BM25 hit that is not a gold article of that question.
    Returns the pairs and the labels of gold articles missing from the collection."""
    by_name = gold_passages(passages)
    by_id = {p.passage_id: p for p in passages}
    pairs: list[TrainingPair] = []
    missing: list[str] = []
    for question in questions:
        gold = {(g.law, g.article) for g in question.gold}
        negative = None
        if bm25 is not None:
            for hit in bm25.search(question.question, HARD_NEGATIVE_DEPTH):
                passage = by_id[hit.passage_id]
                if (passage.title, passage.number) not in gold:
                    negative = passage.indexed_text
                    break
        for g in question.gold:
            passage = by_name.get((g.law, g.article))
            if passage is None:
                missing.append(f"{question.id}: {g.ref}")
                continue
            pairs.append(TrainingPair(question.id, question.question, passage.indexed_text, negative))
    return pairs, missing


def hard_negative_retriever(documents: Sequence, passages: Sequence, progress: bool = False):
    """An in-memory BM25 over the passages, tokenised as the index tokenises them."""
    retriever = BM25Retriever(Segmenter(build_user_dictionary(documents)))
    retriever.index(passages, progress=progress)
    return retriever


def national_documents() -> list:
    """Searchable (current) documents of the shipped national collection (from data/)."""
    return [d for d in load_collection("national").documents if d.status == "current"]


def source_weight(path: str | os.PathLike) -> int:
    """STARD pairs once, any other file's (the domain sets) `DOMAIN_WEIGHT` times: the
    reranker's rule (eval/train_rerank.py `make_pairs`)."""
    from eval.train_rerank import DOMAIN_WEIGHT  # imports the pipeline: only when sources are built

    return 1 if Path(path).name == "stard_train.jsonl" else DOMAIN_WEIGHT


def default_sources() -> tuple[TrainSource, ...]:
    """The issue-14 training data: the reranker's (question file, collection) sources."""
    from eval.train_rerank import DEFAULT_SOURCES  # imports the pipeline: only when sources are built

    return tuple(TrainSource(Path(p), c, source_weight(p)) for p, c in DEFAULT_SOURCES)


def trainable(questions: Sequence, source: str | os.PathLike) -> tuple[list, dict[str, int]]:
    """The questions of `source` a trainer may see — neither held out nor in the dev slice
    under the file's fixed rule (eval/splits.py) — and how many of each part there were."""
    rule = rule_for_file(source)
    kept, counts = [], {"questions": len(questions), "train": 0, "dev": 0, "heldout": 0}
    for question in questions:
        if is_heldout(question.id, rule):
            counts["heldout"] += 1
        elif is_dev(question.id, rule):
            counts["dev"] += 1
        else:
            counts["train"] += 1
            kept.append(question)
    return kept, counts


def mine(questions: Sequence, resolve, index, dense: bool = True, depth: int = HARD_NEGATIVE_DEPTH,
         seconds: dict[str, float] | None = None) -> list[Mined]:
    """Resolve each question's gold (`resolve(law, article)` → unit id or None) and rank
    the collection for it with `index.search_bm25` and, when `dense`, `index.search_dense`
    (an `indexer.store.Index`: BM25 and the prebuilt vectors). Time per retriever is added
    to `seconds` (`bm25_mining`, `dense_mining`)."""
    seconds = seconds if seconds is not None else {}
    out = []
    for question in questions:
        gold, missing = [], []
        for g in question.gold:
            unit = resolve(g.law, g.article)
            (gold if unit else missing).append(unit or g.ref)
        start = time.perf_counter()
        bm25 = tuple(h.unit_id for h in index.search_bm25(question.question, depth))
        seconds["bm25_mining"] = seconds.get("bm25_mining", 0.0) + time.perf_counter() - start
        ranked_dense: tuple[str, ...] = ()
        if dense:
            start = time.perf_counter()
            ranked_dense = tuple(h.unit_id for h in index.search_dense(question.question, depth))
            seconds["dense_mining"] = seconds.get("dense_mining", 0.0) + time.perf_counter() - start
        out.append(Mined(question.id, question.question, tuple(dict.fromkeys(gold)), tuple(missing), bm25, ranked_dense))
    return out


def unit_texts(passages: Sequence) -> dict[str, str]:
    """unit id → the indexed text of its first window: what a unit looks like to the embedder."""
    texts: dict[str, str] = {}
    for passage in passages:
        if passage.window == 0:
            texts.setdefault(passage.unit_id, passage.indexed_text)
    return texts


def mined_pairs(mined: Sequence[Mined], texts: dict[str, str], weight: int = 1) -> list[TrainingPair]:
    """One pair per (question, gold unit with a text), repeated `weight` times. Its negative
    is the top-ranked unit of a retriever that is not gold for the question (by unit and
    by text, so a duplicate of a gold article is never a negative); a question's pairs
    take the BM25 and the dense negative in turn (starting with BM25 on even questions,
    dense on odd ones), the other one when a retriever found none."""
    if weight < 1:
        raise UsageError(f"a source's weight must be >= 1, got {weight}")
    pairs: list[TrainingPair] = []
    for n, item in enumerate(mined):
        positives = [u for u in item.gold if u in texts]
        gold_texts = {texts[u] for u in positives}
        negatives = {}
        for name, ranked in (("bm25", item.bm25), ("dense", item.dense)):
            negatives[name] = next((texts[u] for u in ranked
                                    if u not in item.gold and u in texts and texts[u] not in gold_texts), None)
        turn = 0
        for unit in positives:
            for _ in range(weight):
                order = ("bm25", "dense") if (n + turn) % 2 == 0 else ("dense", "bm25")
                negative = negatives[order[0]] or negatives[order[1]]
                pairs.append(TrainingPair(item.question_id, item.question, texts[unit], negative))
                turn += 1
    return pairs


#: The issue map as training data. The domain questions are few (30 trainable) and an
#: embedder tuned on them with STARD learned STARD's topics, not ours (issue 14); the map
#: (assistant/data/issue_map.json) is our domain's knowledge written from the law: which
#: provisions govern which story, in a person's words (lay cues) and the law's (name, legal
#: cues). Every provision of every issue becomes the positive of two pseudo-questions made of
#: those words only, never of a dev question: `MAP_LAY_CUES` of the issue's lay cues, and the
#: issue's name with `MAP_LEGAL_CUES` legal cues, each ending with the plain ask of the
#: provision's role (`MAP_ASKS`). A synonym family (`@受托企业`) is one of its members and
#: the cues are drawn at random, seeded, so a rerun makes the same pairs.
MAP_ASKS: dict[str, str] = {
    "liability": "谁来承担责任？",
    "duty": "有什么义务？这样合法吗？",
    "basis": "法律上怎么规定？",
    "remedy": "我该怎么维权？",
    "time_limit": "期限是多久？还来得及吗？",
    "defendant": "应该告谁？",
    "burden_of_proof": "要我自己证明吗？",
}
MAP_LAY_CUES = 4
MAP_LEGAL_CUES = 2
MAP_COLLECTION = "default"  # the collection the map's provisions are resolved in


def render_cue(cue, rng: random.Random) -> str:
    """A cue of the map as words: each part one of its options (a family's member), the
    parts of a combined cue (`a&b`) joined by `，`."""
    return "，".join(rng.choice(options) for options in cue.options)


def _issue_units(issue_map, resolve, texts: dict[str, str], order=None,
                 ) -> tuple[list[tuple[object, dict[str, object]]], list[str]]:
    """Each issue with its provisions resolved to indexed units (unit → provision, in the
    map's order or sorted by `order`; a unit two provisions share counted once, under the
    first), and the provisions the collection does not resolve (`issue: ref`), which are
    counted, not trained on."""
    resolved, unresolved = [], []
    for issue in issue_map.issues:
        units: dict[str, object] = {}
        for provision in (sorted(issue.provisions, key=order) if order else issue.provisions):
            unit = resolve(provision.law, provision.article)
            if unit in texts:
                units.setdefault(unit, provision)
            else:
                unresolved.append(f"{issue.id}: {provision.ref}")
        resolved.append((issue, units))
    return resolved, unresolved


def _other_area_texts(resolved, texts: dict[str, str]) -> dict[str, list[str]]:
    """Issue id → the texts of provisions of issues of *other* areas: the easy negatives
    of the map's and the probes' pairs (never a false one, which a mined hard negative
    often is here: another provision that governs the same story)."""
    by_area: dict[str, list[str]] = {}
    for issue, units in resolved:
        by_area.setdefault(issue.area, []).extend(texts[u] for u in units)
    out = {}
    for issue, units in resolved:
        own = {texts[u] for u in units}
        out[issue.id] = [text for area, area_texts in by_area.items() if area != issue.area for text in area_texts
                         if text not in own]
    return out


def issue_map_pairs(issue_map, resolve, texts: dict[str, str], seed: int) -> tuple[list[TrainingPair], dict]:
    """The map's pseudo-question pairs (see `MAP_ASKS`) and their counts.

    A pair's negative is a provision of an issue of another area (drawn at random,
    `_other_area_texts`). All pairs of one issue share a `group`, so no batch holds two of
    them: their questions are alike, each other's positives would be false in-batch
    negatives. Provisions the collection does not resolve are counted, not trained on."""
    rng = random.Random(seed)
    resolved, unresolved = _issue_units(issue_map, resolve, texts)
    others_of = _other_area_texts(resolved, texts)
    pairs: list[TrainingPair] = []
    for issue, units in resolved:
        lay = [cue for cue in issue.cues if cue.kind == "lay"]
        legal = [cue for cue in issue.cues if cue.kind == "legal"]
        others = others_of[issue.id]
        for unit, provision in units.items():
            ask = MAP_ASKS[provision.role]
            questions = []
            if lay:
                questions.append("，".join(render_cue(c, rng) for c in rng.sample(lay, min(MAP_LAY_CUES, len(lay)))) + "。" + ask)
            words = "、".join(render_cue(c, rng) for c in rng.sample(legal, min(MAP_LEGAL_CUES, len(legal))))
            questions.append(f"{issue.name}：{words}。{ask}" if words else f"{issue.name}。{ask}")
            for question in questions:
                negative = rng.choice(others) if others else None
                pairs.append(TrainingPair(f"map:{issue.id}", question, texts[unit], negative, group=issue.id))
    counts = {"file": issue_map.path, "sha256": issue_map.sha256, "issues": len(issue_map.issues),
              "provisions": sum(len(units) for _, units in resolved), "unresolved": unresolved, "pairs": len(pairs)}
    return pairs, counts


#: The probe questions as data (`fagui train --issue-probes`, `issue_probe_pairs`). The map's
#: pseudo-questions are its own words strung together (above); the tuning probe sets
#: (eval/data/issue_probes/tuning*.jsonl, eval/issue_probes.py; 4,260 questions in session 20) are
#: questions people would type — stories and short asks written from the issue brief for the map's rounds,
#: each labelled with the issue it is about. Each becomes one pair: its question with one
#: provision of its issue, the issue's provisions taken in turn (role order, `ROLE_PRIORITY`)
#: so every provision is a positive about equally often. The held-out probe sets are never
#: read, nor is any dev question.
PROBE_TRAINING_PREFIX = "tuning"


def probe_training_files() -> list[Path]:
    """The tuning probe sets in `eval.issue_probes.PROBE_SETS` order (never a held-out set)."""
    return [probe_set_path(name) for name in PROBE_SETS if name.startswith(PROBE_TRAINING_PREFIX)]


def issue_probe_pairs(issue_map, resolve, texts: dict[str, str], seed: int,
                      files: Sequence[Path] | None = None) -> tuple[list[TrainingPair], dict]:
    """The tuning probes' pairs and their counts: a probe's question with the next provision
    of its issue (each issue's resolved provisions in role order, in turn) and an easy
    negative from another area (`_other_area_texts`); one `group` per issue, as for the
    map's pairs. A probe whose issue has no resolved provision is counted, not trained on;
    one whose issue id is not in the map is an error naming its file and line (read by
    `eval.issue_probes.load_probes`, the probe sets' one reader)."""
    rng = random.Random(seed)
    order = {role: i for i, role in enumerate(ROLE_PRIORITY)}
    resolved, unresolved = _issue_units(issue_map, resolve, texts, order=lambda p: order.get(p.role, len(order)))
    others_of = _other_area_texts(resolved, texts)
    turns = {issue.id: list(units) for issue, units in resolved}
    used: dict[str, int] = {}
    pairs: list[TrainingPair] = []
    files = list(files) if files is not None else probe_training_files()
    skipped = 0
    for path in files:
        for probe in load_probes(Path(path), issue_map):
            units = turns.get(probe.issue, [])
            if not units:
                skipped += 1
                continue
            turn = used.get(probe.issue, 0)
            used[probe.issue] = turn + 1
            others = others_of[probe.issue]
            pairs.append(TrainingPair(f"probe:{probe.id}", probe.question, texts[units[turn % len(units)]],
                                      rng.choice(others) if others else None, group=probe.issue))
    counts = {"file": " + ".join(Path(f).name for f in files), "files": [str(Path(f).resolve()) for f in files],
              "issues": len(used), "probes": len(pairs) + skipped, "skipped": skipped, "unresolved": unresolved,
              "pairs": len(pairs)}
    return pairs, counts


def source_data(source: TrainSource, pipeline, dense: bool, seconds: dict[str, float],
                ) -> tuple[list[TrainingPair], dict, list[str]]:
    """Pairs of one source against its collection's open pipeline, the source's counts
    and its unresolved gold references."""
    questions, counts = trainable(load_questions(source.questions), source.questions)
    mined = mine(questions, pipeline.resolve, pipeline.index, dense=dense, seconds=seconds)
    pairs = mined_pairs(mined, unit_texts(pipeline.index.passages), source.weight)
    missing = [f"{m.question_id}: {ref}" for m in mined for ref in m.missing]
    counts |= {"file": str(Path(source.questions).resolve()), "collection": source.collection, "weight": source.weight,
               "pairs": len(pairs), "questions_mined_dense": sum(1 for m in mined if m.dense),
               "questions_without_gold": sum(1 for m in mined if not m.gold)}
    return pairs, counts, missing


def open_pipeline(collection: str):
    """The collection's built index as the pipeline opens it (its gold resolution and its
    BM25 and vectors for mining); a missing index is a usage error with the fix."""
    from assistant.pipeline import Pipeline  # the pipeline loads its index: only when sources are mined
    from indexer.store import IndexNotFoundError

    try:
        return Pipeline.open(collection)
    except IndexNotFoundError as exc:
        raise UsageError(f"training against {collection!r} needs its built index ({exc}); "
                         f"run `fagui index --collection {collection}` first") from None


# ---------------------------------------------------------------- training


def default_output_dir() -> Path:
    return fagui_home() / "models" / "m3e-small-tuned"


def _seed_everything(seed: int) -> None:
    import torch  # heavy (seconds, ~500 MB): only when a model is trained

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _prepare_out_dir(out_dir: Path) -> None:
    """Refuse to overwrite anything but an earlier training output."""
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / TRAIN_INFO_FILE).exists():
        raise FileExistsError(f"{out_dir}: exists and is not a `fagui train` output; choose another --out")
    out_dir.parent.mkdir(parents=True, exist_ok=True)


class DistinctTextBatches:
    """Batch sampler for in-batch-negative training: no text (question, positive or
    negative) occurs twice in a batch, so an article cited by two questions is never
    scored as the other's negative. Each epoch reshuffles (seeded) and uses every
    example once; an example that collides waits for a later batch.

    Replaces sentence-transformers' NoDuplicatesDataLoader, which loops forever when
    the remaining examples cannot fill a batch without a duplicate (measured: it hangs
    on a dozen STARD questions where one article is the gold of nine).
    """

    def __init__(self, texts: Sequence[Sequence[str]], batch_size: int, seed: int):
        self.keys = [frozenset(t.strip().lower() for t in example) for example in texts]
        self.batch_size = batch_size
        self.rng = random.Random(seed)
        self._next = self._plan()

    def _plan(self) -> list[list[int]]:
        pending = list(range(len(self.keys)))
        self.rng.shuffle(pending)
        batches: list[list[int]] = []
        while pending:
            batch, seen, rest = [], set(), []
            for i in pending:
                if len(batch) < self.batch_size and not self.keys[i] & seen:
                    batch.append(i)
                    seen |= self.keys[i]
                else:
                    rest.append(i)
            if len(batch) >= 2:  # a lone example has no in-batch negative
                batches.append(batch)
            pending = rest
        return batches

    def __len__(self) -> int:
        return len(self._next)

    def __iter__(self):
        plan, self._next = self._next, self._plan()
        return iter(plan)


def fit(model, pairs: Sequence[TrainingPair], settings: TrainSettings, progress: bool) -> int:
    """MultipleNegativesRankingLoss over (question, positive[, negative]) with in-batch
    negatives; linear warm-up then decay. Returns the number of optimiser steps."""
    # sentence-transformers and torch are heavy (seconds, ~500 MB): only when training
    from sentence_transformers import InputExample
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from torch.utils.data import DataLoader

    if settings.hard_negatives:
        # every example needs the same number of texts: the rare pair without a
        # non-gold BM25 hit is dropped rather than padded with an arbitrary text
        pairs = [p for p in pairs if p.negative]
        examples = [InputExample(texts=[p.question, p.positive, p.negative]) for p in pairs]
    else:
        examples = [InputExample(texts=[p.question, p.positive]) for p in pairs]
    # a group is one more "text" of its pairs, so two pairs of one group never meet in a batch
    keys = [[*e.texts, f"group:{p.group}"] if p.group else e.texts for e, p in zip(examples, pairs)]
    sampler = DistinctTextBatches(keys, settings.batch_size, settings.seed)
    if len(sampler) == 0:
        raise UsageError(f"{len(examples)} training example(s): not enough distinct pairs for one batch")
    loader = DataLoader(examples, batch_sampler=sampler)  # old_fit sets collate_fn
    steps = len(loader) * settings.epochs
    model.old_fit(
        train_objectives=[(loader, MultipleNegativesRankingLoss(model))],
        epochs=settings.epochs,
        warmup_steps=math.ceil(settings.warmup_fraction * steps),
        optimizer_params={"lr": settings.learning_rate},
        show_progress_bar=progress,
    )
    return steps


def train_model(
    out_dir: str | os.PathLike,
    questions_path: str | os.PathLike = DEFAULT_QUESTIONS,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    holdout: float = 0.0,
    seed: int = 0,
    progress: bool = True,
    base_model: str | os.PathLike | None = None,
    learning_rate: float = 5e-5,
    max_seq_length: int = 128,
    hard_negatives: bool = True,
    threads: int = 2,
    documents: Sequence | None = None,
    sources: Sequence[TrainSource] | None = None,
    dense_negatives: bool = True,
    issue_map: bool = False,
    issue_probes: bool = False,
) -> TrainReport:
    """Fine-tune `base_model` (default: FAGUI_MODEL or m3e-small) and save it in `out_dir`
    as a sentence-transformers folder with `fagui_train.json` beside it.

    With `sources`: the training part of each source's questions (fixed splits, see
    `trainable`) against its collection's built index, BM25 (and with `dense_negatives`
    dense) hard negatives, pairs repeated by the source's weight, with `issue_map` the
    map's pseudo-question pairs (`issue_map_pairs`) and with `issue_probes` the tuning
    probes' pairs (`issue_probe_pairs`), both against `MAP_COLLECTION`; `questions_path`,
    `holdout` and `documents` are not used. Without: the questions in `questions_path`
    (JSONL/CSV as `fagui eval` reads them) minus the `holdout` share, against `documents`
    (default: the shipped national collection), BM25 negatives (eval/reports/TRAIN.md)."""
    prepare_model_runtime()
    if (issue_map or issue_probes) and sources is None:
        raise UsageError("the issue map and the probes train only together with question sources (train_model(sources=...))")
    if sources is not None and holdout:
        raise UsageError("with sources the held-out part is fixed by eval/splits.py; holdout must be 0")
    settings = TrainSettings(epochs, batch_size, holdout, seed, learning_rate, 0.1, max_seq_length, hard_negatives, threads,
                             dense_negatives=bool(sources is not None and hard_negatives and dense_negatives),
                             issue_map=issue_map, issue_probes=issue_probes)
    if epochs < 1 or batch_size < 2:
        raise UsageError(f"epochs must be >= 1 and batch_size >= 2 (got {epochs}, {batch_size})")
    out_dir = Path(out_dir).expanduser().resolve()
    _prepare_out_dir(out_dir)
    base_path = resolve_base_model(base_model)
    seconds: dict[str, float] = {}
    load = {"start": os.getloadavg()[0]}

    start = time.perf_counter()
    source_rows: list[dict] = []
    if sources is not None:
        pairs, missing, pipelines = [], [], {}
        for source in sources:
            if source.collection not in pipelines:
                pipelines[source.collection] = open_pipeline(source.collection)
            source_pairs, counts, source_missing = source_data(source, pipelines[source.collection], settings.dense_negatives, seconds)
            if not hard_negatives:
                source_pairs = [TrainingPair(p.question_id, p.question, p.positive) for p in source_pairs]
            pairs += source_pairs
            missing += source_missing
            source_rows.append(counts)
        if issue_map or issue_probes:
            pipeline = pipelines.get(MAP_COLLECTION) or open_pipeline(MAP_COLLECTION)
            texts = unit_texts(pipeline.index.passages)
            makers = [maker for maker, wanted in ((issue_map_pairs, issue_map), (issue_probe_pairs, issue_probes)) if wanted]
            for maker in makers:
                made, counts = maker(pipeline.issue_map, pipeline.resolve, texts, seed)
                pairs += made
                source_rows.append(counts | {"collection": MAP_COLLECTION, "weight": 1, "questions": 0, "train": 0, "dev": 0,
                                             "heldout": 0})
        del pipelines
        n_questions = sum(r["questions"] for r in source_rows)
        n_train = sum(r["train"] for r in source_rows)
        n_heldout = sum(r["heldout"] + r["dev"] for r in source_rows)
        questions_label = " + ".join(f"{r['file']} ({r['collection']}, ×{r['weight']})" for r in source_rows)
    else:
        questions = load_questions(questions_path)
        train_questions, heldout = split_questions(questions, holdout)
        documents = list(documents) if documents is not None else national_documents()
        passages = make_passages(documents)
        bm25 = hard_negative_retriever(documents, passages, progress) if hard_negatives else None
        pairs, missing = make_pairs(train_questions, passages, bm25)
        n_questions, n_train, n_heldout = len(questions), len(train_questions), len(heldout)
        questions_label = str(Path(questions_path).resolve())
    seconds = {k: round(v, 1) for k, v in seconds.items()}
    seconds["data"] = round(time.perf_counter() - start, 1)

    import torch  # heavy, see fit
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    _seed_everything(seed)
    model = SentenceTransformer(str(base_path), device="cpu", local_files_only=True, model_kwargs=fp32_model_kwargs())
    window = model.max_seq_length
    model.max_seq_length = max_seq_length
    start = time.perf_counter()
    steps = fit(model, pairs, settings, progress)
    seconds["training"] = round(time.perf_counter() - start, 1)
    load["end"] = os.getloadavg()[0]
    model.max_seq_length = window  # the folder keeps the base model's window

    staging = out_dir.with_name(f".{out_dir.name}.train-{secrets.token_hex(3)}")
    model.save(str(staging))
    report = TrainReport(
        out_dir=str(out_dir),
        base_model=str(base_path),
        base_fingerprint=weights_fingerprint(base_path),
        fingerprint=weights_fingerprint(staging),
        questions_path=questions_label,
        questions=n_questions,
        train_questions=n_train,
        heldout_questions=n_heldout,
        questions_without_gold_passage=len({m.split(":")[0] for m in missing}),
        pairs=len(pairs),
        pairs_with_hard_negative=sum(1 for p in pairs if p.negative),
        steps=steps,
        settings=asdict(settings),
        seconds=seconds,
        load_average=load,
        missing_gold=missing,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        sources=source_rows,
    )
    (staging / TRAIN_INFO_FILE).write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.rename(staging, out_dir)
    return report


# ---------------------------------------------------------------- evaluation


def dense_recall_at(index, questions: list[dict], embedder, k: int) -> float:
    """Dense-only Recall@k (k may exceed speed.recall_at_k's search depth of 50)."""
    names = {p.unit_id: (p.title, p.number) for p in index.passages}
    vectors = embedder.encode([q["question"] for q in questions])
    total = 0.0
    for question, vector in zip(questions, vectors):
        gold = {(g["law"], g["article"]) for g in question["gold"]}
        total += len(gold & {names[h.unit_id] for h in index.dense.search_vector(vector, k)}) / len(gold)
    return total / len(questions)


def evaluate_model(label: str, model_path: str | None, documents: Sequence, questions: list[dict], subsets: dict[str, list[dict]], work: Path, progress: bool) -> dict:
    """Index the collection with the model (bf16, exact search; vectors cached per
    model fingerprint under `work`) and measure Recall@10 (dense, BM25, RRF — the
    eval/speed.py function) and dense Recall@100 on `questions` and its `subsets`."""
    config = IndexConfig(model_path=model_path, precision="bf16", faiss_kind="flat", threads=2)
    fingerprint = weights_fingerprint(resolve_model_path(model_path))
    index_dir = work / f"national-{fingerprint[:12]}-bf16"
    build = build_index(documents, index_dir, config, progress=progress)
    index = load_index(index_dir)
    embedder = make_embedder(config)
    recalls = recall_at_k(index, questions, embedder, k=10)
    row = {
        "label": label,
        "model": str(resolve_model_path(model_path)),
        "fingerprint": fingerprint,
        "dense_r10": recalls["dense"],
        "bm25_r10": recalls["bm25"],
        "hybrid_r10": recalls["hybrid"],
        "dense_r100": dense_recall_at(index, questions, embedder, 100),
        "embedded": build.embedded,
        "cached": build.cached,
        "embedding_s": build.seconds.get("embedding", 0.0),
        "subsets": {name: recall_at_k(index, qs, embedder, k=10) for name, qs in subsets.items() if qs},
    }
    return row


def article_overlap_subsets(train_rows: list[dict], heldout_rows: list[dict]) -> dict[str, list[dict]]:
    """Held-out questions whose gold articles all / not all occur as gold of a training
    question: the first kind can profit from memorised articles, the second cannot."""
    seen = {(g["law"], g["article"]) for q in train_rows for g in q["gold"]}
    all_seen = [q for q in heldout_rows if all((g["law"], g["article"]) in seen for g in q["gold"])]
    some_unseen = [q for q in heldout_rows if not all((g["law"], g["article"]) in seen for g in q["gold"])]
    return {"gold all seen in training": all_seen, "some gold unseen in training": some_unseen}


# ---------------------------------------------------------------- report


def write_report(out: Path, results: dict) -> None:
    """TRAIN.md from the accumulated results (never typed by hand)."""
    lines = [
        "# Fine-tuning m3e-small on STARD (generated by `python -m eval.train`)",
        "",
        f"Generated {results.get('generated', '')} on {results.get('machine', '')}. Do not edit by hand; rerun the script.",
        "",
        "Method: MultipleNegativesRankingLoss (in-batch negatives + one BM25-mined hard negative per pair) on "
        "(question, gold article as indexed: context line + text) pairs, sentence-transformers `old_fit`, fp32 on CPU. "
        "Split: a question is held out iff sha256(id) / 2^64 < holdout (independent of seed and file order).",
        "",
    ]
    for key, title in (("heldout", "Held-out run"), ("final", "Final model (all questions)")):
        run = results.get(key)
        if not run:
            continue
        t = run["train"]
        s = t["settings"]
        lines += [
            f"## {title}",
            "",
            f"Command: `{run['command']}`",
            "",
            f"Trained on {t['train_questions']} of {t['questions']} questions ({t['heldout_questions']} held out), "
            f"{t['pairs']} pairs ({t['pairs_with_hard_negative']} with a hard negative), "
            f"{t['questions_without_gold_passage']} training question(s) with a gold article missing from the collection. "
            f"{s['epochs']} epoch(s), batch {s['batch_size']}, lr {s['learning_rate']}, max_seq_length {s['max_seq_length']}, "
            f"seed {s['seed']}, {s['threads']} torch threads: {t['steps']} steps in {t['seconds']['training']:.0f} s "
            f"(data preparation incl. BM25 mining {t['seconds']['data']:.0f} s); load average "
            f"{t['load_average'].get('start', 0):.1f} at start, {t['load_average'].get('end', 0):.1f} at end. "
            f"Model folder `{t['out_dir']}` (weights sha256 {t['fingerprint'][:12]}…).",
            "",
        ]
        evaluation = run.get("evaluation")
        if not evaluation and not t["heldout_questions"]:
            lines += ["Not evaluated here: every question was trained on, so any number on them would be in-sample; "
                      "the held-out run above (same settings) is the estimate of what training gains.", ""]
        if evaluation:
            lines += [
                f"### {evaluation['what']}",
                "",
                f"{evaluation['questions']} questions; full national collection ({evaluation['passages']} passages), "
                "bf16 vectors, exact search; gold = (law title, article). Recall@10 columns are "
                "`eval.speed.recall_at_k` (RRF of the BM25 and dense top-50); dense Recall@100 searches the top 100.",
                "",
                "| model | dense R@10 | dense R@100 | BM25 R@10 | hybrid (RRF) R@10 | passages embedded / from cache (s) |",
                "| --- | ---: | ---: | ---: | ---: | ---: |",
            ]
            for row in evaluation["rows"]:
                lines.append(
                    f"| {row['label']} | {row['dense_r10']:.4f} | {row['dense_r100']:.4f} | {row['bm25_r10']:.4f} "
                    f"| {row['hybrid_r10']:.4f} | {row['embedded']} / {row['cached']} ({row['embedding_s']:.0f}) |"
                )
            names = list(evaluation["rows"][0]["subsets"])
            if names:
                lines += ["", "By whether the question's gold articles were gold of some training question (the first "
                          "subset can profit from articles memorised in training, the second measures generalisation "
                          "to articles never seen as gold):", "",
                          "| model | subset | questions | dense R@10 | hybrid R@10 |", "| --- | --- | ---: | ---: | ---: |"]
                for row in evaluation["rows"]:
                    for name in names:
                        sub = row["subsets"][name]
                        lines.append(f"| {row['label']} | {name} | {evaluation['subset_sizes'][name]} "
                                     f"| {sub['dense']:.4f} | {sub['hybrid']:.4f} |")
            lines.append("")
    out.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-seq-length", type=int, default=128, help="training window in tokens (the saved model keeps the base window)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--no-hard-negatives", action="store_true")
    parser.add_argument("--evaluate", action="store_true", help="measure base vs tuned (held-out questions, or in-sample with --holdout 0)")
    parser.add_argument("--work", default="/tmp/fagui-train", help="evaluation indexes + embedding caches")
    parser.add_argument("--report", default=str(DEFAULT_REPORT))
    args = parser.parse_args(argv)
    prepare_model_runtime()

    report_path = Path(args.report)
    results_path = report_path.with_suffix(".json")
    documents = national_documents()
    report = train_model(
        args.out, args.questions, epochs=args.epochs, batch_size=args.batch_size, holdout=args.holdout,
        seed=args.seed, learning_rate=args.lr, max_seq_length=args.max_seq_length, hard_negatives=not args.no_hard_negatives, documents=documents,
    )
    print(f"trained {report.steps} steps in {report.seconds['training']:.0f} s → {report.out_dir}", flush=True)
    key = "heldout" if args.holdout > 0 else "final"
    run = {"command": "python -m eval.train " + " ".join(argv if argv is not None else sys.argv[1:]), "train": report.to_dict()}
    if args.evaluate:
        train_part, heldout_part = split_questions(load_questions(args.questions), args.holdout)
        rows = {q["id"]: q for q in load_stard(Path(args.questions))}
        evaluated = [rows[q.id] for q in (heldout_part if heldout_part else train_part)]
        subsets = article_overlap_subsets([rows[q.id] for q in train_part], evaluated) if heldout_part else {}
        work = Path(args.work)
        evaluation_rows = []
        for label, path in (("m3e-small (base)", report.base_model), ("fine-tuned", report.out_dir)):
            row = evaluate_model(label, path, documents, evaluated, subsets, work, progress=True)
            evaluation_rows.append(row)
            print(f"{label}: dense R@10 {row['dense_r10']:.4f}, R@100 {row['dense_r100']:.4f}, hybrid R@10 {row['hybrid_r10']:.4f}", flush=True)
        run["evaluation"] = {
            "what": "Held-out questions (never trained on)" if heldout_part else "IN-SAMPLE: the questions the model was trained on",
            "questions": len(evaluated),
            "passages": len(make_passages(documents)),
            "rows": evaluation_rows,
            "subset_sizes": {name: len(qs) for name, qs in subsets.items()},
        }
    # read just before writing: a held-out and a final run may finish in either order
    results = json.loads(results_path.read_text(encoding="utf-8")) if results_path.exists() else {}
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs"
    results[key] = run
    results["generated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results_path.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    write_report(report_path, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
