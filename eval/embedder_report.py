"""eval/reports/EMBEDDER.md from held-out `fagui eval` runs: `python -m eval.embedder_report`.

Issue 14's table: m3e-small / tuned embedder, reranker off and on, × {STARD held-out,
domain held-out (both sets), each domain set, each domain question kind}: Recall@1/10/100
and MRR@10, read from the runs' metrics.json (`fagui eval … --split heldout --k 100`).
Each run directory holds `stard-{rerank,no-rerank}`, `domain_dev-…` and `domain_lay_dev-…`
(the layout `heldout.sh` writes, see the report's commands). A recall is a mean over
questions, so the figures for both domain sets together and for a kind across the sets
are question-weighted means of the per-file figures (exact, not approximations).

The decision rule (issue 14): the tuned embedder becomes the default only when it beats
m3e-small on both held-out splits, STARD hybrid Recall@10 and domain Recall@10, both
without the reranker (the embedder's own effect) and with it (what users get).

Because the two models answer the same questions, the report also gives the paired
differences (tuned − m3e-small) per question, from each run's per_question.jsonl, with a
95 % bootstrap interval (`eval.compare.paired_differences`): on 30 domain
questions a gain of two points of Recall@10 is well inside what resampling moves, and
the reader should see that next to the verdict.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from corpus import config
from eval.compare import BOOTSTRAP_RESAMPLES, PairedDifference, paired_differences, read_per_question
from eval.runner import METRICS_FILE, PER_QUESTION_FILE

REPORT = Path(__file__).resolve().parent / "reports" / "EMBEDDER.md"
METRICS = ("recall@1", "recall@10", "recall@100", "mrr@10")
DOMAIN_FILES = ("domain_dev", "domain_lay_dev")
#: The paired comparison: which runs together form a split, and its metrics.
PAIRED_SPLITS = {"STARD held-out (national)": ("stard",), "domain held-out, both sets (default)": DOMAIN_FILES}
PAIRED_METRICS = ("recall@10", "mrr@10", "recall@100")


def load_run(directory: Path, flag: str) -> dict[str, dict]:
    """{row name: metrics with `questions`} of one run directory and reranker flag."""
    metrics = {name: json.loads((directory / f"{name}-{flag}" / METRICS_FILE).read_text(encoding="utf-8"))
               for name in ("stard", *DOMAIN_FILES)}
    rows: dict[str, dict] = {}

    def figures(block: dict, n: int) -> dict:
        return {k: block[k] for k in METRICS} | {"questions": n}

    rows["STARD held-out (national)"] = figures(metrics["stard"]["retrieval"], metrics["stard"]["counts"]["evaluated"])
    parts = [figures(metrics[f]["retrieval"], metrics[f]["counts"]["evaluated"]) for f in DOMAIN_FILES]
    rows["domain held-out, both sets (default)"] = weighted(parts)
    for f, part in zip(DOMAIN_FILES, parts):
        rows[f"{f} held-out"] = part
    kinds = sorted({k for f in DOMAIN_FILES for k in metrics[f]["by_kind"]})
    for kind in kinds:
        rows[f"domain kind `{kind}`"] = weighted([figures(metrics[f]["by_kind"][kind], metrics[f]["by_kind"][kind]["evaluated"])
                                                  for f in DOMAIN_FILES if kind in metrics[f]["by_kind"]])
    rows["_pipeline"] = {f: metrics[f]["pipeline"] for f in ("stard", "domain_dev")}
    return rows


def weighted(parts: list[dict]) -> dict:
    n = sum(p["questions"] for p in parts)
    return {k: sum(p[k] * p["questions"] for p in parts) / n for k in METRICS} | {"questions": n}


def decision(table: dict[str, dict[str, dict]]) -> dict:
    """Does the tuned model beat m3e-small on STARD and domain R@10, reranker off and on?"""
    out = {}
    for flag in ("no-rerank", "rerank"):
        for split in ("STARD held-out (national)", "domain held-out, both sets (default)"):
            base = table[f"m3e-small {flag}"][split]["recall@10"]
            tuned = table[f"tuned {flag}"][split]["recall@10"]
            # a tie (equal up to float summation order) is not a win
            out[f"{split}, {flag}"] = {"m3e-small": round(base, 4), "tuned": round(tuned, 4), "beats": tuned - base > 1e-9}
    out["default"] = all(v["beats"] for v in out.values() if isinstance(v, dict))
    return out


def per_question(directory: Path, names: tuple[str, ...], flag: str) -> dict[str, dict] | None:
    """{question id: its metrics} over the runs `names` of one directory and flag, or
    None when a run has no per_question.jsonl (older runs)."""
    out: dict[str, dict] = {}
    for name in names:
        path = directory / f"{name}-{flag}" / PER_QUESTION_FILE
        if not path.is_file():
            return None
        for qid, row in read_per_question(path).items():
            if row.get("metrics"):
                out[f"{name}:{qid}"] = row["metrics"]
    return out


def paired(base_dir: Path, tuned_dir: Path) -> dict[str, PairedDifference]:
    """{"split, flag, metric": tuned − m3e-small} over the questions both runs evaluated
    (eval.compare.paired_differences)."""
    out: dict[str, PairedDifference] = {}
    for flag in ("no-rerank", "rerank"):
        for split, names in PAIRED_SPLITS.items():
            base, tuned = per_question(base_dir, names, flag), per_question(tuned_dir, names, flag)
            if base is None or tuned is None:
                continue
            for d in paired_differences(base, tuned, PAIRED_METRICS):
                out[f"{split}, {flag}, {d.name}"] = d
    return out


def shipped_note(info: dict) -> str:
    """Whether these weights are the repository's default model: the shipped folder's
    manifest names the fp32 weights it was made from (`trained_sha256`)."""
    manifest = config.SHIPPED_EMBEDDER / "manifest.json"
    shipped = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    if shipped.get("trained_sha256") == info["fingerprint"]:
        return (f" These weights ship as the default model (`models/embedder/`, fp16, sha256 "
                f"`{shipped.get('sha256', '')[:12]}…`).")
    return " These weights are not the repository's default model."


def write(out: Path, base_dir: Path, tuned_dir: Path, model_dir: Path, extra: dict) -> dict:
    table = {f"{label} {flag}": load_run(d, flag)
             for label, d in (("m3e-small", base_dir), ("tuned", tuned_dir)) for flag in ("no-rerank", "rerank")}
    info = json.loads((model_dir / "fagui_train.json").read_text(encoding="utf-8"))
    verdict = decision(table)
    names = [r for r in table["m3e-small no-rerank"] if not r.startswith("_")]
    labels = {"m3e-small no-rerank": "m3e-small", "tuned no-rerank": "tuned embedder",
              "m3e-small rerank": "m3e-small + reranker", "tuned rerank": "tuned + reranker"}
    lines = [
        f"# {extra.get('title', 'The tuned embedder on the held-out splits (issue 14)')}",
        "",
        "Generated by `python -m eval.embedder_report` from `fagui eval … --split heldout --k 100` runs; do not edit "
        "the tables by hand. Hybrid retrieval with the issue map, k = 100; the reranker is the shipped "
        "`models/reranker/` (trained on candidates from m3e-small retrieval), measured as is.",
        "",
        "## Verdict",
        "",
    ]
    for key, v in verdict.items():
        if key != "default":
            lines.append(f"- {key}: m3e-small R@10 {v['m3e-small']:.4f}, tuned {v['tuned']:.4f} — "
                         f"{'tuned better' if v['beats'] else 'tuned NOT better'}")
    lines += ["", ("**The tuned embedder beats m3e-small on both held-out splits.**" if verdict["default"] else
                   "**The tuned embedder does not beat m3e-small on both held-out splits: m3e-small stays the default.**")
              + shipped_note(info), ""]
    differences = paired(base_dir, tuned_dir)
    if differences:
        lines += ["## Paired differences (tuned − m3e-small, same questions)", "",
                  f"Mean per-question difference with its 95 % bootstrap interval ({BOOTSTRAP_RESAMPLES} resamples, "
                  "percentile), and the questions that got better / worse.", "",
                  "| split | reranker | metric | questions | difference | 95 % interval | better | worse |",
                  "| --- | --- | --- | ---: | ---: | --- | ---: | ---: |"]
        for key, d in differences.items():
            split, flag, metric = key.rsplit(", ", 2)
            lines.append(f"| {split} | {'on' if flag == 'rerank' else 'off'} | {metric} | {d.questions} | "
                         f"{d.difference:+.3f} | [{d.low:+.3f}, {d.high:+.3f}] | {d.better} | {d.worse} |")
        lines.append("")
    lines += ["## Table", "", "| split | questions | model | R@1 | R@10 | R@100 | MRR@10 |", "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for name in names:
        for key in ("m3e-small no-rerank", "tuned no-rerank", "m3e-small rerank", "tuned rerank"):
            row = table[key][name]
            lines.append(f"| {name} | {row['questions']} | {labels[key]} | " + " | ".join(f"{row[m]:.3f}" for m in METRICS) + " |")
    s = info["settings"]
    lines += [
        "",
        "## Training",
        "",
        f"Command: `{extra.get('train_command', '')}`",
        "",
        "| source | collection | weight | questions | trained on | dev (excluded) | held out (excluded) | pairs |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for src in info["sources"]:
        if "probes" in src:  # the tuning probe questions (eval/train.py issue_probe_pairs)
            lines.append(f"| {src['file']} ({src['probes']} probe questions) | {src['collection']} | ×{src['weight']} | — | — "
                         f"| — | — | {src['pairs']} |")
            continue
        if "issues" in src:  # the issue map's pseudo-questions (eval/train.py issue_map_pairs)
            lines.append(f"| {Path(src['file']).name} ({src['issues']} issues, {src['provisions']} provisions) | "
                         f"{src['collection']} | ×{src['weight']} | — | — | — | — | {src['pairs']} |")
            continue
        lines.append(f"| {Path(src['file']).name} | {src['collection']} | ×{src['weight']} | {src['questions']} | {src['train']} "
                     f"| {src['dev']} | {src['heldout']} | {src['pairs']} |")
    map_note = (" The issue map's and the probes' pairs have an easy negative instead: a provision of an issue of another area."
                if any("issues" in src or "probes" in src for src in info["sources"]) else "")
    sec = info["seconds"]
    lines += [
        "",
        f"{info['pairs']} pairs ({info['pairs_with_hard_negative']} with a hard negative: the top non-gold hit of BM25 or of "
        f"the dense retriever, in turn, from the prebuilt m3e-small index of the question's collection), "
        f"{len(info['missing_gold'])} unresolved gold reference(s).{map_note} MultipleNegativesRankingLoss, {s['epochs']} epoch, "
        f"batch {s['batch_size']}, lr {s['learning_rate']}, max_seq_length {s['max_seq_length']}, seed {s['seed']}, "
        f"{s['threads']} torch threads, fp32 on CPU, under `nice -n 19`.",
        "",
        f"- training: {info['steps']} steps in **{sec['training']:.0f} s**; data preparation {sec['data']:.0f} s, of which "
        f"mining {sec.get('bm25_mining', 0):.1f} s BM25 and {sec.get('dense_mining', 0):.1f} s dense (query embedding + exact "
        f"search over the stored vectors: nothing re-embedded).",
        f"- load average (1 min): {info['load_average'].get('start', 0):.2f} at start, {info['load_average'].get('end', 0):.2f} at end "
        f"(2 cores{extra.get('load_note', '')}).",
        f"- model folder `{model_dir}` (the fp32 folder `fagui train` wrote), weights sha256 `{info['fingerprint']}` "
        f"(base m3e-small `{info['base_fingerprint']}`).",
    ]
    for key, value in extra.get("notes", {}).items():
        lines.append(f"- {key}: {value}")
    lines += ["", "## Commands", "", "```"] + extra.get("commands", []) + ["```", ""]
    out.write_text("\n".join(lines), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"table": {k: {n: r for n, r in v.items()} for k, v in table.items()},
                                                    "verdict": verdict,
                                                    "paired": {k: asdict(d) for k, d in differences.items()}, "train": info,
                                                    "extra": extra},
                                                   ensure_ascii=False, indent=1), encoding="utf-8")
    return verdict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="run directory of m3e-small (shipped indexes)")
    parser.add_argument("--tuned", required=True, help="run directory of the tuned model's indexes")
    parser.add_argument("--model", required=True, help="the tuned model folder (its fagui_train.json)")
    parser.add_argument("--extra", help="JSON file: train_command, commands (list), notes (dict)")
    parser.add_argument("--out", default=str(REPORT))
    args = parser.parse_args(argv)
    extra = json.loads(Path(args.extra).read_text(encoding="utf-8")) if args.extra else {}
    verdict = write(Path(args.out), Path(args.base), Path(args.tuned), Path(args.model), extra)
    print(json.dumps(verdict, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
