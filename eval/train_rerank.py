"""Train, export and measure the cross-encoder reranker: `fagui train --reranker`.

Data (issue 14). The training questions are STARD's (`stard_train.jsonl`, asked
against `national`, its corpus) and the domain sets (`domain_dev`, `domain_lay_dev`,
asked against `default`), minus their fixed held-out parts (eval/splits.py). For each
question the pipeline's own retrieval (hybrid + issue map, reranker off) gives the
candidates the reranker will reorder in use (`mine`); the positives are its resolved
gold articles, the negatives are non-gold candidates from that list: BM25- and
dense-mined hard negatives from the collection the question is asked against. A
domain question has many gold articles and there are few of them, so its pairs are
repeated `DOMAIN_WEIGHT` times, so they are not drowned by STARD's 1,235.

Model. `sentence_transformers.CrossEncoder` on the m3e-small transformer weights (a new
one-logit head), binary cross-entropy, trained with the library's `old_fit` loop (the
new trainer needs `datasets` and `accelerate`, which are not installed). Then exported
to ONNX (verified against the torch scores) and quantised to int8 with ONNX Runtime's
dynamic quantisation (measured: 4× smaller and ~2× faster on these CPUs; the manifest
records how far the int8 scores are from fp32). Written as a reranker folder
(indexer/rerank.py): model.onnx, tokenizer.json, manifest.json.

Reproducible: the seed fixes the negative sampling, the batch order and the head's
initialisation; the manifest records data files with their sha256, settings, the
command, the time it took and the held-out figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from corpus import config
from corpus.errors import UsageError
from corpus.hashing import file_sha256
from eval.questions import Question, load_questions
from eval.splits import SPLIT_SUMMARY, is_dev, is_heldout, rule_for_file
from indexer.embedder import int8_needs_reduced_range, this_cpu_flags
from indexer.models import quiet_transformers, resolve_base_model, weights_fingerprint
from indexer.rerank import MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE, Reranker, rerank_order, rerank_text
from assistant.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval"
#: (question file, collection it is asked against): the shipped reranker's training data.
DEFAULT_SOURCES = (
    (SHARED_EVAL / "stard" / "stard_train.jsonl", "national"),
    (SHARED_EVAL / "domain" / "domain_dev.jsonl", "default"),
    (SHARED_EVAL / "domain" / "domain_lay_dev.jsonl", "default"),
)
SHIPPED_DIR = config.SHIPPED_RERANKER
#: Candidates mined per question (the deepest reranking depth measured).
MINE_DEPTH = 50
#: Times a domain pair is repeated in the training data.
DOMAIN_WEIGHT = 3
#: Version of the candidate cache lines (a change re-mines).
CANDIDATES_FORMAT = 2


@dataclass(frozen=True)
class Candidates:
    """One question and what retrieval (reranker off) returns for it, as unit ids."""

    question_id: str
    question: str
    collection: str
    source: str  # question file name
    heldout: bool
    dev: bool  # the dev slice (eval/splits.py): not trained on, used to choose depth and blend
    gold: tuple[str, ...]  # resolved gold unit ids
    ranked: tuple[str, ...]  # the fused ranking, best first
    kind: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Candidates":
        return cls(**{**data, "gold": tuple(data["gold"]), "ranked": tuple(data["ranked"])})


@dataclass(frozen=True)
class RerankSettings:
    """Everything that determines the trained weights (recorded in the manifest)."""

    epochs: int = 1
    learning_rate: float = 1e-4
    warmup_fraction: float = 0.1
    max_length: int = 160
    group_size: int = 5  # one gold article and four negatives per softmax group
    groups_per_batch: int = 3
    max_positives: int = 4
    domain_weight: int = DOMAIN_WEIGHT
    seed: int = 0
    threads: int = 2


@dataclass
class RerankReport:
    out_dir: str
    base_model: str
    base_fingerprint: str
    sources: list[dict]
    questions: dict[str, int]
    pairs: int
    positives: int
    settings: dict
    seconds: dict[str, float] = field(default_factory=dict)
    export: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- candidates


def mine(pipeline: Pipeline, questions: Sequence[Question], source: Path, depth: int = MINE_DEPTH,
         progress: bool = False) -> list[Candidates]:
    """Each question's retrieval candidates, exactly as the pipeline ranks them before reranking."""
    rule = rule_for_file(source)
    out = []
    for n, question in enumerate(questions, start=1):
        gold = tuple(dict.fromkeys(u for u in (pipeline.resolve(g.law, g.article) for g in question.gold) if u))
        understanding = pipeline.understand(question.question)
        ranked = tuple(u for u, _ in pipeline.retrieve(question.question, mode=pipeline.best_mode, k=depth,
                                                       understanding=understanding, rerank=False))
        out.append(Candidates(question.id, question.question, pipeline.collection, source.name,
                              is_heldout(question.id, rule), is_dev(question.id, rule), gold, ranked, question.kind))
        if progress and n % 100 == 0:
            print(f"  {source.name}: {n}/{len(questions)}", file=sys.stderr, flush=True)
    return out


def open_pipelines(collections) -> dict[str, Pipeline]:
    """One open pipeline per collection: mining and the article texts share them (each
    opening reads a whole index)."""
    return {collection: Pipeline.open(collection) for collection in sorted(set(collections))}


def mine_sources(sources: Sequence[tuple[Path, str]], pipelines: dict[str, Pipeline], cache: Path | None = None,
                 progress: bool = False) -> list[Candidates]:
    """Candidates of every (question file, collection) source, ranked by `pipelines` (one per
    collection, `open_pipelines`); cached as JSONL when `cache` is given (keyed by the
    files' sha256, so changed questions are mined again)."""
    key = {"format": CANDIDATES_FORMAT, "sources": [[str(p), c, file_sha256(p)] for p, c in sources], "depth": MINE_DEPTH}
    if cache is not None and cache.is_file():
        lines = cache.read_text(encoding="utf-8").splitlines()
        if lines and json.loads(lines[0]) == key:
            return [Candidates.from_dict(json.loads(line)) for line in lines[1:]]
    out: list[Candidates] = []
    for path, collection in sources:
        out.extend(mine(pipelines[collection], load_questions(path), Path(path), progress=progress))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        tmp.write_text("\n".join([json.dumps(key)] + [json.dumps(c.to_dict(), ensure_ascii=False) for c in out]) + "\n",
                       encoding="utf-8")
        os.replace(tmp, cache)
    return out


# ---------------------------------------------------------------- pairs


def make_pairs(candidates: Sequence[Candidates], texts: dict[str, str], settings: RerankSettings,
               ) -> list[tuple[str, str, float]]:
    """(question, article text, label) training pairs from the training part, in groups
    of `group_size`: one gold article, then `group_size - 1` non-gold candidates of the
    same question — half the highest-ranked (the ones the reranker must push down), half
    drawn at random from the rest of its list. Groups are shuffled as wholes, so a batch
    of whole groups is a listwise softmax over one question's candidates (`GroupSoftmaxLoss`).
    At most `max_positives` gold articles per question (in gold order) make groups."""
    rng = random.Random(settings.seed)
    negatives_per_group = settings.group_size - 1
    groups: list[list[tuple[str, str, float]]] = []
    for item in candidates:
        if item.heldout or item.dev or not item.gold:
            continue
        gold = set(item.gold)
        wrong = [u for u in item.ranked if u not in gold and u in texts]
        if len(wrong) < negatives_per_group:
            continue
        repeat = settings.domain_weight if item.source != "stard_train.jsonl" else 1
        for positive in [u for u in item.gold if u in texts][: settings.max_positives]:
            for _ in range(repeat):
                top = negatives_per_group // 2
                chosen = wrong[:top] + rng.sample(wrong[top:], negatives_per_group - top)
                groups.append([(item.question, texts[positive], 1.0)]
                              + [(item.question, texts[u], 0.0) for u in chosen])
    rng.shuffle(groups)
    return [pair for group in groups for pair in group]


class GroupSoftmaxLoss:
    """Listwise loss for `old_fit`: the batch is whole groups of `size` pairs (one positive
    first, then negatives); cross-entropy of each group's softmax against its positive.
    WHY not the loop's default binary cross-entropy: with ~1,000 questions, BCE left the
    reranker unable to order even its own training candidates (first two runs: scores
    alone gave dev Recall@10 0.35–0.40 against 0.56 unreranked); a softmax over one
    question's candidates trains exactly the decision reranking makes."""

    def __init__(self, size: int):
        self.size = size

    def __call__(self, logits, labels):
        import torch  # already loaded by the training loop that calls this

        grouped = logits.view(-1, self.size)
        target = labels.view(-1, self.size).argmax(dim=1)
        return torch.nn.functional.cross_entropy(grouped, target)


def rerank_texts(candidates: Sequence[Candidates], pipelines: dict[str, Pipeline]) -> dict[str, str]:
    """`rerank_text` of every unit the candidates mention (what the reranker reads; not
    `eval.train.unit_texts`, the first window as indexed, which the embedder reads)."""
    texts: dict[str, str] = {}
    for item in candidates:
        pipeline = pipelines[item.collection]
        for unit_id in (*item.gold, *item.ranked):
            if unit_id not in texts:
                found = pipeline.unit(unit_id)
                if found is not None:
                    texts[unit_id] = rerank_text(*found)
    return texts


# ---------------------------------------------------------------- training and export


def train(pairs: Sequence[tuple[str, str, float]], base: Path, settings: RerankSettings, progress: bool = False):
    """Fit a one-logit CrossEncoder on the pairs; returns the torch model."""
    config.prepare_model_runtime()
    import torch  # training only (seconds, ~500 MB)
    from sentence_transformers import CrossEncoder, InputExample
    from torch.utils.data import DataLoader

    quiet_transformers()
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CrossEncoder(str(base), num_labels=1, max_length=settings.max_length, device="cpu",
                             local_files_only=True)
    # Question and article both as segment 0: m3e-small was trained on single texts, so its
    # segment-1 embedding is still the random initialisation (std 0.02 vs a trained row of
    # norm 1.8), and feeding it to every article token measurably crippled the first model
    # (dev R@10 by reranker score alone 0.35 vs 0.56 unreranked). Without token_type_ids the
    # tokenizer omits them, BERT uses zeros, and the export has no such input.
    model.tokenizer.model_input_names = ["input_ids", "attention_mask"]
    examples = [InputExample(texts=[q, t], label=label) for q, t, label in pairs]
    # not shuffled here: `make_pairs` shuffled whole groups, and a batch must hold whole groups
    loader = DataLoader(examples, batch_size=settings.group_size * settings.groups_per_batch, shuffle=False)
    steps = len(loader) * settings.epochs
    model.old_fit(loader, epochs=settings.epochs, warmup_steps=int(steps * settings.warmup_fraction),
                  loss_fct=GroupSoftmaxLoss(settings.group_size),
                  optimizer_params={"lr": settings.learning_rate}, show_progress_bar=progress)
    return model


def export(model, out_dir: Path, settings: RerankSettings, probes: Sequence[tuple[str, str]]) -> dict:
    """Write model.onnx (int8) and tokenizer.json to `out_dir`; returns the export checks.

    The fp32 export must match torch (max |Δlogit| ≤ 1e-3) or nothing is written; the
    int8 model's distance from fp32 is measured and recorded, not hidden."""
    # export only, after training (torch is loaded by then; quantisation tools are not needed to answer)
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tokenizer = model.tokenizer
    sample = tokenizer(["示例问题"] * 2, ["示例条文"] * 2, padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    inner = model.model.eval()

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(**dict(zip(names, tensors))).logits

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / ".model.fp32.onnx"
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["logits"] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Logits(), tuple(sample[n] for n in names), str(fp32), input_names=names,
                          output_names=["logits"], dynamic_axes=axes, opset_version=17, dynamo=False)
    base = Path(tokenizer.name_or_path)
    shutil.copyfile(base / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
    reference = np.asarray(model.predict(list(probes), batch_size=16, show_progress_bar=False,
                                         activation_fn=torch.nn.Identity()), dtype=np.float32).reshape(-1)
    checks = {}
    # Where this CPU's int8 kernels saturate (int8_needs_reduced_range), 7-bit weights with
    # one scale per output channel (7 bits alone still ranked the test's probes at Spearman
    # 0.85 there, per channel > 0.9): the export is checked here, so it must score right
    # here. Elsewhere 8-bit per-tensor weights, as the shipped reranker was exported.
    reduce_range = int8_needs_reduced_range(this_cpu_flags())
    for label, path in (("fp32", fp32), ("int8", out_dir / MODEL_FILE)):
        if label == "int8":
            quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, reduce_range=reduce_range, per_channel=reduce_range)
        scored = _score_file(path, out_dir, settings.max_length, probes)
        checks[label] = {"max_abs_diff": round(float(np.abs(scored - reference).max()), 5),
                         "spearman": round(_spearman(scored, reference), 5)}
        if label == "int8":
            checks[label]["reduce_range"] = reduce_range
        if label == "fp32" and checks[label]["max_abs_diff"] > 1e-3:
            fp32.unlink(missing_ok=True)
            raise RuntimeError(f"ONNX export differs from torch: {checks[label]}")
    fp32.unlink(missing_ok=True)
    checks["probes"] = len(probes)
    return checks


def _score_file(path: Path, folder: Path, max_length: int, probes: Sequence[tuple[str, str]]) -> np.ndarray:
    """Scores of an ONNX file through `Reranker` (the inference code users run)."""
    reranker = Reranker.from_files(path, folder / TOKENIZER_FILE, max_length)
    return np.concatenate([reranker.score(q, [t]) for q, t in probes])


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


# ---------------------------------------------------------------- offline measurement


def recall_mrr(items: Sequence[Candidates], orders: dict[str, list[str]], ks=(1, 10, 100)) -> dict[str, float]:
    """Mean Recall@k and MRR@10 over questions with resolved gold (the eval's definitions)."""
    out = {f"R@{k}": 0.0 for k in ks}
    out["MRR@10"] = 0.0
    rows = [c for c in items if c.gold]
    for item in rows:
        gold, order = set(item.gold), orders[item.question_id]
        for k in ks:
            out[f"R@{k}"] += len(gold & set(order[:k])) / len(gold)
        out["MRR@10"] += next((1 / r for r, u in enumerate(order[:10], start=1) if u in gold), 0.0)
    return {key: round(value / max(len(rows), 1), 4) for key, value in out.items()} | {"n": len(rows)}


def score_candidates(reranker: Reranker, items: Sequence[Candidates], texts: dict[str, str], depth: int,
                     progress: bool = False) -> dict[str, dict[str, float]]:
    """Reranker scores of each question's top `depth` candidates."""
    out = {}
    for n, item in enumerate(items, start=1):
        head = [u for u in item.ranked[:depth] if u in texts]
        out[item.question_id] = dict(zip(head, map(float, reranker.score(item.question, [texts[u] for u in head]))))
        if progress and n % 100 == 0:
            print(f"  scored {n}/{len(items)}", file=sys.stderr, flush=True)
    return out


#: Depths and blends compared on the dev slice (`choose`).
DEPTHS = (10, 20, 30, 50)
BLENDS = (0.0, 0.5, 1.0, 2.0)


def measure(folder: Path, items: Sequence[Candidates], texts: dict[str, str], depths=DEPTHS, blends=BLENDS,
            progress: bool = False) -> dict[str, dict]:
    """Recall/MRR of each (depth, blend), and of no reranking, over `items` (by source):
    the offline measurement the shipped depth and blend are chosen with (on the dev slice)."""
    reranker = Reranker(folder)
    scores = score_candidates(reranker, items, texts, max(depths), progress=progress)
    out: dict[str, dict] = {}
    groups = {"all": list(items)} | {src: [c for c in items if c.source == src] for src in sorted({c.source for c in items})}
    for name, group in groups.items():
        if not group:
            continue
        rows = {"off": recall_mrr(group, {c.question_id: list(c.ranked) for c in group})}
        for depth in depths:
            for blend in blends:
                orders = {c.question_id: rerank_order(c.ranked, scores[c.question_id], depth, blend) for c in group}
                rows[f"depth {depth} blend {blend:g}"] = recall_mrr(group, orders)
        out[name] = rows
    return out


# ---------------------------------------------------------------- command


def train_reranker(out_dir: Path, sources: Sequence[tuple[Path, str]] = DEFAULT_SOURCES,
                   settings: RerankSettings = RerankSettings(), base: str | None = None,
                   cache: Path | None = None, progress: bool = False) -> RerankReport:
    """Mine, pair, train, export: the whole `fagui train --reranker` run."""
    base_path = resolve_base_model(base)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MANIFEST_FILE).exists():
        raise UsageError(f"{out_dir}: exists and is not a reranker folder; choose another --out")
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    pipelines = open_pipelines(c for _, c in sources)
    candidates = mine_sources(sources, pipelines, cache=cache, progress=progress)
    seconds["mine"] = round(time.perf_counter() - started, 1)
    texts = rerank_texts(candidates, pipelines)
    pairs = make_pairs(candidates, texts, settings)
    if not pairs:
        raise UsageError("no training pairs: no question has a gold article in its collection")
    started = time.perf_counter()
    model = train(pairs, base_path, settings, progress=progress)
    seconds["train"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    probes = [(q, t) for q, t, _ in pairs[:64]]
    checks = export(model, out_dir, settings, probes)
    seconds["export"] = round(time.perf_counter() - started, 1)
    report = RerankReport(
        out_dir=str(out_dir), base_model=str(base_path), base_fingerprint=weights_fingerprint(base_path),
        sources=[{"file": Path(p).name, "collection": c, "sha256": file_sha256(p)} for p, c in sources],
        questions={"train": sum(1 for c in candidates if not c.heldout and not c.dev),
                   "dev": sum(1 for c in candidates if c.dev),
                   "heldout": sum(1 for c in candidates if c.heldout)},
        pairs=len(pairs), positives=sum(1 for *_, label in pairs if label > 0), settings=asdict(settings),
        seconds=seconds, export=checks)
    write_manifest(out_dir, report, settings)
    return report


def write_manifest(out_dir: Path, report: RerankReport, settings: RerankSettings) -> None:
    manifest = {
        "name": "fagui-rerank-m3e-small",
        "format": 1,
        "sha256": file_sha256(out_dir / MODEL_FILE),
        "bytes": (out_dir / MODEL_FILE).stat().st_size,
        "max_length": settings.max_length,
        "base_model": Path(report.base_model).name,
        "base_fingerprint": report.base_fingerprint,
        "quantisation": "onnxruntime quantize_dynamic, QInt8 weights"
                        + (", reduce_range (7-bit), per channel" if report.export.get("int8", {}).get("reduce_range") else ""),
        "data": report.sources,
        "split": SPLIT_SUMMARY,
        "questions": report.questions,
        "pairs": report.pairs,
        "positives": report.positives,
        "settings": report.settings,
        "seconds": report.seconds,
        "export_checks": report.export,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "fagui train --reranker --out models/reranker",
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(SHIPPED_DIR))
    parser.add_argument("--cache", default=str(config.fagui_home() / "cache" / "rerank_candidates.jsonl"))
    parser.add_argument("--mine-only", action="store_true")
    parser.add_argument("--measure", metavar="FOLDER", help="measure a trained reranker offline on --slice")
    parser.add_argument("--slice", choices=["dev", "heldout"], default="dev")
    args = parser.parse_args(argv)
    if args.measure:
        pipelines = open_pipelines(c for _, c in DEFAULT_SOURCES)
        items = mine_sources(DEFAULT_SOURCES, pipelines, cache=Path(args.cache))
        chosen = [c for c in items if (c.dev if args.slice == "dev" else c.heldout)]
        result = measure(Path(args.measure), chosen, rerank_texts(chosen, pipelines), progress=True)
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    if args.mine_only:
        items = mine_sources(DEFAULT_SOURCES, open_pipelines(c for _, c in DEFAULT_SOURCES), cache=Path(args.cache),
                             progress=True)
        print(f"{len(items)} questions mined")
        return 0
    report = train_reranker(Path(args.out), cache=Path(args.cache), progress=True)
    print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
