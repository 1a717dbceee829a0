"""Indexing-speed and recall benchmark: `python -m eval.speed` → eval/reports/SPEED.md.

What it measures (all on this machine, results written by this script, not by hand):

1. Throughput (passages/s) of each embedding option on a fixed sample of passages
   (random.Random(0), default 2,000) from the national collection:
   `st-fp32` = plain `SentenceTransformer.encode(batch_size=32)` (the baseline);
   `fp32` / `int8` / `bf16` = `indexer.embedder.Embedder` (length-sorted batches packed
   by a token budget) at each precision. Each option runs in a fresh subprocess
   (model loaded, one warm-up pass, one timed pass), round-robin over several rounds.
2. Cosine of each option's vectors to the exact fp32 vectors on the same sample.
3. Recall@10 of dense-only retrieval on STARD (`../shared/eval/stard/stard_train.jsonl`,
   gold = (law title, article)) over the full national collection (all LawRefBook
   folders except DLC/, current versions only), for each precision given with
   `--recall` (default: the fast path). The index is built with `build_index` (so its
   embedding time on the full collection is measured too) into `--work` with the
   embedding cache, so an interrupted run resumes.
4. With `--faiss` (needs the bf16 national index from step 3 in --work): single-query
   latency of exact search (IndexFlatIP) for growing numbers of real 512-d vectors,
   HNSW build time / latency / recall@10 against exact, and the resulting `auto`
   threshold (largest size whose exact search stays under 20 ms per query).

Options: --sample N, --rounds R, --options st-fp32,fp32,int8,bf16, --recall bf16,fp32,
--skip-throughput, --faiss, --out PATH. Results accumulate in <out>.json, so separate runs
(e.g. a long fp32 recall run in the background) merge into one SPEED.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from corpus.config import omp_wait_policy, prepare_model_runtime
from corpus.markdown import is_document, merge_parts, read_lawrefbook
from corpus.records import IngestError
from corpus.versions import assign_status
from indexer.dense import build_faiss_index, single_threaded_faiss
from indexer.embedder import Embedder
from indexer.hits import reciprocal_rank_fusion
from indexer.passages import make_passages
from indexer.store import IndexConfig, build_index, load_index, make_embedder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LAWREFBOOK = SHARED / "corpus" / "lawrefbook"
STARD = SHARED / "eval" / "stard" / "stard_train.jsonl"
DEFAULT_OUT = Path(__file__).resolve().parent / "reports" / "SPEED.md"
LATENCY_BUDGET_MS = 20.0


def load_national_collection(root: Path = LAWREFBOOK) -> list:
    """Current versions of every LawRefBook document outside DLC/ (the STARD search space)."""
    files = sorted(p for p in root.rglob("*.md") if p.relative_to(root).parts[0] != "DLC" and is_document(p))
    documents = []
    for path in files:
        try:
            documents.append(read_lawrefbook(path, root))
        except IngestError:
            continue
    return [d for d in assign_status(merge_parts(documents)) if d.status == "current"]


def load_stard(path: Path = STARD) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def recall_at_k(index, questions: list[dict], embedder, k: int = 10) -> dict[str, float]:
    """Mean over questions of |gold ∩ top-k units| / |gold|, units named (title, 第X条),
    for dense-only, BM25-only and their reciprocal rank fusion."""
    names = {p.unit_id: (p.title, p.number) for p in index.passages}
    vectors = embedder.encode([q["question"] for q in questions])
    totals = {"dense": 0.0, "bm25": 0.0, "hybrid": 0.0}
    for question, vector in zip(questions, vectors):
        gold = {(g["law"], g["article"]) for g in question["gold"]}
        dense = index.dense.search_vector(vector, 50)
        bm25 = index.search_bm25(question["question"], 50)
        ranked = {"dense": dense[:k], "bm25": bm25[:k], "hybrid": reciprocal_rank_fusion([bm25, dense], k=k)}
        for name, hits in ranked.items():
            totals[name] += len(gold & {names[h.unit_id] for h in hits}) / len(gold)
    return {name: total / len(questions) for name, total in totals.items()}


OPTIONS = {
    "st-fp32": "SentenceTransformer.encode(batch_size=32), fp32 (baseline)",
    "fp32": "Embedder(precision='fp32'): length-sorted batches packed by token budget",
    "int8": "Embedder(precision='int8'): + torch dynamic int8 quantisation of Linear layers",
    "bf16-2k": "Embedder(precision='bf16', batch_tokens=2048): + bfloat16 weights/activations (AMX)",
    "bf16": "Embedder(precision='bf16'): bfloat16 with its default 8,192-token batches",
    "ov-bf16": "OpenVINOEmbedder: the verified ONNX export run by OpenVINO in bf16, 2 streams, 1,024-token batches",
}
#: Options that are a precision with a non-default token budget.
BATCH_OVERRIDES = {"bf16-2k": ("bf16", 2048)}


def measure_option(option: str, texts: list[str], vectors_out: Path) -> dict:
    """One option in this process: load, one unmeasured warm-up pass over the sample
    (oneDNN compiles kernels per input shape; a full build amortises that), then one
    timed pass. Vectors are saved for the cosine comparison."""
    if option == "st-fp32":
        model = Embedder(precision="fp32").model

        def run() -> np.ndarray:
            return model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)

    else:
        precision, batch_tokens = BATCH_OVERRIDES.get(option, (option, None))
        embedder = make_embedder(IndexConfig(precision=precision, batch_tokens=batch_tokens))
        embedder.model  # load (and for ov-bf16 export, once per FAGUI_HOME) before the clock starts

        def run() -> np.ndarray:
            return embedder.encode(texts)

    run()
    start, cpu = time.perf_counter(), time.process_time()
    vectors = np.asarray(run(), dtype=np.float32)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    np.save(vectors_out, vectors, allow_pickle=False)
    return {"option": option, "seconds": seconds, "cpu_seconds": cpu_seconds, "load_avg": os.getloadavg()[0]}


def throughput(texts: list[str], options: list[str], rounds: int, work: Path) -> list[dict]:
    """Each option in a fresh subprocess (no state shared between options), options
    round-robin for `rounds` rounds; the best round counts (other processes on this
    shared 2-core machine can only slow a round down, never speed it up)."""
    work.mkdir(parents=True, exist_ok=True)
    sample_file = work / "sample.json"
    sample_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    runs: dict[str, list[dict]] = {option: [] for option in options}
    for round_number in range(rounds):
        for option in options:
            vectors_out = work / f"vectors-{option}.npy"
            command = [sys.executable, "-m", "eval.speed", "--child", option, "--child-sample", str(sample_file), "--child-out", str(vectors_out)]
            done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            runs[option].append(row)
            print(f"round {round_number + 1}: {option:8s} {len(texts) / row['seconds']:7.1f} passages/s (load {row['load_avg']:.1f})", flush=True)
    reference = np.load(work / "vectors-st-fp32.npy") if "st-fp32" in options else None
    rows = []
    for option in options:
        rates = sorted(len(texts) / r["seconds"] for r in runs[option])
        row = {
            "option": option,
            "what": OPTIONS[option],
            "passages_per_s": rates[-1],
            "median_passages_per_s": float(np.median(rates)),
            "rounds": len(rates),
        }
        if reference is not None:
            vectors = np.load(work / f"vectors-{option}.npy")
            row["cosine"] = float((vectors * reference).sum(axis=1).mean())
            row["min_cosine"] = float((vectors * reference).sum(axis=1).min())
        rows.append(row)
    base = next((r["passages_per_s"] for r in rows if r["option"] == "st-fp32"), rows[0]["passages_per_s"])
    for row in rows:
        row["speedup"] = row["passages_per_s"] / base
    return rows


def faiss_latency(index_dir: Path, sizes: list[int], queries: int = 100) -> dict:
    """Exact-search latency per collection size, HNSW against exact, and the `auto`
    threshold, on the real vectors of a built national index and real STARD questions.

    Sizes above the real collection are made by repeating its vectors with small noise
    (latency of exact search depends only on the count). Single queries run with one
    FAISS thread, as `DenseRetriever.search_vector` does.
    """
    import faiss  # as in indexer.dense, only where vectors are searched (slow to import)

    index = load_index(index_dir)
    real = index.dense._faiss.reconstruct_n(0, index.dense._faiss.ntotal)
    questions = [q["question"] for q in load_stard()[:queries]]
    query = np.stack([index.dense.embedder.encode_query(q) for q in questions]).astype(np.float32)
    rng = np.random.default_rng(0)
    largest = max(sizes)
    base = np.concatenate([real] * (-(-largest // len(real))))[:largest]
    base[len(real):] += 0.02 * rng.standard_normal(base[len(real):].shape, dtype=np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    flat_rows = []
    with single_threaded_faiss():
        for size in sizes:
            flat = faiss.IndexFlatIP(base.shape[1])
            flat.add(base[:size])
            start = time.perf_counter()
            for q in query:
                flat.search(q.reshape(1, -1), 10)
            flat_rows.append({"vectors": size, "ms_per_query": 1000 * (time.perf_counter() - start) / len(query)})
        under = [r["vectors"] for r in flat_rows if r["ms_per_query"] <= LATENCY_BUDGET_MS]
        start = time.perf_counter()
        hnsw = build_faiss_index(real, "hnsw")
        build_s = time.perf_counter() - start
        exact = faiss.IndexFlatIP(real.shape[1])
        exact.add(real)
        _, truth = exact.search(query, 10)
        start = time.perf_counter()
        for q in query:
            hnsw.search(q.reshape(1, -1), 10)
        hnsw_ms = 1000 * (time.perf_counter() - start) / len(query)
        _, approx = hnsw.search(query, 10)
    overlap = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, truth)])
    return {
        "flat": flat_rows,
        "threshold": max(under) if under else min(sizes),
        "hnsw": {"vectors": len(real), "build_s": build_s, "ms_per_query": hnsw_ms, "recall_vs_exact": float(overlap)},
    }


def _recall_rows(rows: list[dict]) -> list[str]:
    """Table rows of a recall comparison (one per precision)."""
    out = []
    for row in rows:
        rate = f"{row['passages_per_s']:.1f}" if row.get("passages_per_s") else "n/a (from cache)"
        out.append(f"| {row['precision']} | {row['recall_at_10']:.4f} | {rate} | {row['embedded']} | {row['cached']} "
                   f"| {row['bm25_recall_at_10']:.4f} | {row['hybrid_recall_at_10']:.4f} |")
    return out


def write_report(out: Path, results: dict) -> None:
    lines = [
        "# Indexing speed and recall (generated by `python -m eval.speed`)",
        "",
        f"Generated {results['generated']} on {results['machine']}. Do not edit by hand; rerun the script.",
        "",
    ]
    if results.get("throughput"):
        t = results["throughput"]
        lines += [
            f"## Embedding throughput ({t['sample']} passages, fixed random sample of the national collection, "
            f"mean {t['mean_chars']:.0f} chars incl. context line)",
            "",
            f"Each option runs in its own process: model loaded, one unmeasured warm-up pass, one timed pass; "
            f"{t['rows'][0]['rounds']} rounds round-robin, best round reported (median alongside) because other "
            "processes share the 2 cores. Cosine = mean (min) cosine of the option's vectors to the baseline's.",
            "",
            "| option | what | passages/s (best) | median | speed-up vs st-fp32 | cosine to st-fp32 |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for row in t["rows"]:
            cosine = f"{row['cosine']:.5f} ({row['min_cosine']:.4f})" if "cosine" in row else ""
            lines.append(
                f"| {row['option']} | {row['what']} | {row['passages_per_s']:.1f} | {row['median_passages_per_s']:.1f} "
                f"| {row['speedup']:.2f}x | {cosine} |"
            )
        lines.append("")
    if results.get("recall"):
        lines += [
            "## Dense-only Recall@10 on STARD (full national collection, current versions)",
            "",
            f"{results['collection']['documents']} documents, {results['collection']['units']} units, "
            f"{results['collection']['passages']} passages; {results['questions']} STARD questions; "
            "gold = (law title, article); Recall@10 = mean share of a question's gold articles in the top-10 units.",
            "",
            "| precision | dense Recall@10 | full-collection embedding passages/s | embedded | from cache | (BM25 R@10) | (RRF BM25+dense R@10) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += _recall_rows(results["recall"])
        lines.append("")
    if results.get("recall_subset"):
        sub = results["subset"]
        lines += [
            f"## Recall@10 on a subset: the first {sub['questions']} STARD questions over only the "
            f"{sub['documents']} laws their gold articles cite ({sub.get('passages', '?')} passages)",
            "",
            "A quicker fp32-vs-fast check (from an earlier run; the full-collection comparison is above). "
            "An easier task than the full collection, so the numbers are higher; what matters is the difference.",
            "",
            "| precision | dense Recall@10 | embedding passages/s | embedded | from cache | (BM25 R@10) | (RRF BM25+dense R@10) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += _recall_rows(results["recall_subset"])
        lines.append("")
    if results.get("faiss"):
        f = results["faiss"]
        lines += [
            "## FAISS: exact vs approximate (real national-collection vectors, tiled with noise beyond their count; "
            "100 real STARD queries, one at a time, one FAISS thread)",
            "",
            "| vectors | IndexFlatIP ms/query |",
            "| ---: | ---: |",
        ]
        lines += [f"| {r['vectors']} | {r['ms_per_query']:.2f} |" for r in f["flat"]]
        h = f["hnsw"]
        lines += [
            "",
            f"HNSW (M=32, efSearch=128) on {h['vectors']} vectors: build {h['build_s']:.1f} s, "
            f"{h['ms_per_query']:.2f} ms/query, recall@10 vs exact {h['recall_vs_exact']:.3f}.",
            "",
            f"`auto` threshold = largest measured size with exact search ≤ {LATENCY_BUDGET_MS:.0f} ms/query: "
            f"**{f['threshold']}** vectors (indexer.dense.ANN_THRESHOLD).",
            "",
        ]
    out.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--options", default="st-fp32,fp32,int8,bf16-2k,bf16,ov-bf16", help="throughput options (first = baseline)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-sample", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--recall", default="bf16", help="precisions to evaluate on STARD ('' = none)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--subset", type=int, default=0,
        help="recall on the first N STARD questions over only the laws their gold articles cite (quicker fp32 check)",
    )
    parser.add_argument("--faiss", action="store_true")
    parser.add_argument("--work", default="/tmp/fagui-speed", help="index/cache directory for the recall runs")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--results", default=None, help="JSON file to merge results into (default: <out>.json)")
    args = parser.parse_args(argv)
    prepare_model_runtime()  # before torch loads (offline; OpenMP threads that sleep)
    if args.child:
        texts = json.loads(Path(args.child_sample).read_text(encoding="utf-8"))
        print(json.dumps(measure_option(args.child, texts, Path(args.child_out))))
        return 0

    out = Path(args.out)
    results_path = Path(args.results) if args.results else out.with_suffix(".json")
    results = json.loads(results_path.read_text(encoding="utf-8")) if results_path.exists() else {}
    results["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {_torch_threads()}, "
        f"OMP_WAIT_POLICY={omp_wait_policy()}"
    )

    def save() -> None:
        results["generated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        results_path.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
        write_report(out, results)

    documents = load_national_collection()
    passages = make_passages(documents)
    if not args.skip_throughput:
        sample = [p.indexed_text for p in random.Random(0).sample(passages, min(args.sample, len(passages)))]
        rows = throughput(sample, [o for o in args.options.split(",") if o], args.rounds, Path(args.work) / "throughput")
        results["throughput"] = {"sample": len(sample), "mean_chars": float(np.mean([len(t) for t in sample])), "rows": rows}
        save()
        for row in rows:
            print(f"{row['option']:8s} {row['passages_per_s']:7.1f} passages/s  {row['speedup']:.2f}x  cosine {row.get('cosine', 1):.5f}")
    precisions = [p for p in args.recall.split(",") if p]
    if precisions:
        questions = load_stard()
        key, prefix = "recall", "national"
        if args.subset:
            questions = questions[: args.subset]
            cited = {g["law"] for q in questions for g in q["gold"]}
            documents = [d for d in documents if d.title in cited]
            key, prefix = "recall_subset", f"subset{args.subset}"
            results["subset"] = {"questions": len(questions), "documents": len(documents)}
        else:
            results["questions"] = len(questions)
        recall_rows = {row["precision"]: row for row in results.get(key, [])}
        for precision in precisions:
            index_dir = Path(args.work) / f"{prefix}-{precision}"
            config = IndexConfig(precision=precision, faiss_kind="flat")
            report = build_index(documents, index_dir, config, progress=True)
            index = load_index(index_dir)
            recalls = recall_at_k(index, questions, make_embedder(config))
            recall = recalls["dense"]
            embedding_s = report.seconds.get("embedding", 0.0)
            recall_rows[precision] = {
                "precision": precision,
                "recall_at_10": recall,
                "bm25_recall_at_10": recalls["bm25"],
                "hybrid_recall_at_10": recalls["hybrid"],
                "embedded": report.embedded,
                "cached": report.cached,
                "passages_per_s": report.embedded / embedding_s if report.embedded and embedding_s else None,
            }
            if not args.subset:
                results["collection"] = {"documents": report.documents, "units": report.units, "passages": report.passages}
            else:
                results["subset"]["passages"] = report.passages
            results[key] = list(recall_rows.values())
            save()
            print(f"{precision}: Recall@10 = {recall:.4f} (embedded {report.embedded}, cached {report.cached})")
    if args.faiss:
        results["faiss"] = faiss_latency(Path(args.work) / "national-bf16", [25_000, 50_000, 100_000, 150_000, 200_000, 400_000])
        save()
        print("faiss threshold", results["faiss"]["threshold"])
    return 0


def _torch_threads() -> int:
    import torch  # heavy; loaded by the embedders by now, and after prepare_model_runtime

    return torch.get_num_threads()


if __name__ == "__main__":
    raise SystemExit(main())
