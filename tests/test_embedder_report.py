"""eval/embedder_report.py on hand-written runs: question-weighted domain figures, the
decision rule (a tie is not a win), the paired differences with their bootstrap interval,
whether the weights are the shipped default, and the training table with the issue map's row."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus import config
from eval.compare import paired_difference
from eval.embedder_report import decision, load_run, paired, shipped_note, write


def run(directory: Path, r10: dict[str, float], flags=("no-rerank", "rerank")) -> Path:
    """A run directory: STARD (10 questions) and the two domain files (1 and 3 questions, one kind each)."""
    sizes = {"stard": 10, "domain_dev": 1, "domain_lay_dev": 3}
    for flag in flags:
        for name, n in sizes.items():
            block = {"recall@1": 0.1, "recall@10": r10[name], "recall@100": 0.9, "mrr@10": 0.5}
            kinds = {} if name == "stard" else {"lay": block | {"evaluated": n}}
            metrics = {"retrieval": block, "counts": {"evaluated": n}, "by_kind": kinds, "pipeline": {"model": "m"}}
            (directory / f"{name}-{flag}").mkdir(parents=True, exist_ok=True)
            (directory / f"{name}-{flag}" / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return directory


def write_per_question(directory: Path, name: str, flag: str, recalls: list[float]) -> None:
    rows = [{"id": f"q{i}", "metrics": {"recall@10": r, "mrr@10": r, "recall@100": 1.0}} for i, r in enumerate(recalls)]
    (directory / f"{name}-{flag}" / "per_question.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")


def test_paired_difference_by_hand():
    same = paired_difference("r", [0.5, 0.0, 1.0], [0.7, 0.2, 1.2])  # every question +0.2: the interval is the point
    assert same.difference == pytest.approx(0.2) and same.low == pytest.approx(0.2) == same.high
    one = paired_difference("r", [0.0] * 6, [1.0, 0, 0, 0, 0, 0])  # one question of six gains 1
    assert one.difference == pytest.approx(1 / 6) and one.better == 1 and one.worse == 0
    assert one.low == 0.0 and 1 / 6 < one.high <= 1.0
    single = paired_difference("r", [0.0], [1.0])  # one question: nothing to resample
    assert (single.difference, single.low, single.high) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="no paired questions"):
        paired_difference("r", [], [])


def test_paired_rows_pair_the_same_questions_across_both_domain_files(tmp_path):
    base = run(tmp_path / "base", {"stard": 0.5, "domain_dev": 0.5, "domain_lay_dev": 0.5}, flags=("rerank",))
    tuned = run(tmp_path / "tuned", {"stard": 0.5, "domain_dev": 0.5, "domain_lay_dev": 0.5}, flags=("rerank",))
    for directory, dev, lay in ((base, [1.0], [0.0, 0.5, 1.0]), (tuned, [0.0], [1.0, 0.5, 1.0])):
        write_per_question(directory, "domain_dev", "rerank", dev)
        write_per_question(directory, "domain_lay_dev", "rerank", lay)
        write_per_question(directory, "stard", "rerank", [0.5] * 10)
    rows = paired(base, tuned)
    domain = rows["domain held-out, both sets (default), rerank, recall@10"]
    assert domain.questions == 4 and domain.difference == pytest.approx(0.0)  # -1 on dev's q0, +1 on lay's q0
    assert domain.better == 1 and domain.worse == 1
    assert rows["STARD held-out (national), rerank, recall@10"].difference == 0.0
    assert not any(", no-rerank," in key for key in rows)  # no per-question file, no row


def test_shipped_note_names_the_default_only_for_the_shipped_weights(tmp_path, monkeypatch):
    folder = tmp_path / "embedder"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"trained_sha256": "a" * 64, "sha256": "c" * 64}), encoding="utf-8")
    monkeypatch.setattr(config, "SHIPPED_EMBEDDER", folder)
    assert "ship as the default model" in shipped_note({"fingerprint": "a" * 64})
    assert "not the repository's default" in shipped_note({"fingerprint": "b" * 64})


def test_domain_rows_are_question_weighted_and_a_tie_is_not_a_win(tmp_path):
    base = run(tmp_path / "base", {"stard": 0.5, "domain_dev": 1.0, "domain_lay_dev": 0.2})
    tuned = run(tmp_path / "tuned", {"stard": 0.6, "domain_dev": 0.6, "domain_lay_dev": 0.3333333333333333})
    rows = load_run(base, "rerank")
    assert rows["domain held-out, both sets (default)"]["recall@10"] == (1.0 * 1 + 0.2 * 3) / 4
    assert rows["domain held-out, both sets (default)"]["questions"] == 4
    table = {f"{label} {flag}": load_run(d, flag) for label, d in (("m3e-small", base), ("tuned", tuned))
             for flag in ("no-rerank", "rerank")}
    verdict = decision(table)  # domain: (0.6 + 1.0) / 4 = 0.4 both: a tie
    assert verdict["STARD held-out (national), rerank"]["beats"] is True
    assert verdict["domain held-out, both sets (default), rerank"]["beats"] is False and verdict["default"] is False


def test_report_lists_the_issue_maps_pairs_as_their_own_source(tmp_path):
    base = run(tmp_path / "base", {"stard": 0.5, "domain_dev": 0.5, "domain_lay_dev": 0.5})
    tuned = run(tmp_path / "tuned", {"stard": 0.6, "domain_dev": 0.6, "domain_lay_dev": 0.6})
    model = tmp_path / "model"
    model.mkdir()
    info = {"settings": {"epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "max_seq_length": 128, "seed": 0, "threads": 2},
            "sources": [{"file": "/x/stard_train.jsonl", "collection": "national", "weight": 1, "questions": 10, "train": 7,
                         "dev": 1, "heldout": 2, "pairs": 9},
                        {"file": "/x/issue_map.json", "collection": "default", "weight": 1, "questions": 0, "train": 0, "dev": 0,
                         "heldout": 0, "pairs": 6, "issues": 2, "provisions": 3},
                        {"file": "tuning.jsonl + tuning2.jsonl", "collection": "default", "weight": 1, "questions": 0,
                         "train": 0, "dev": 0, "heldout": 0, "pairs": 4, "issues": 2, "probes": 5, "skipped": 1}],
            "pairs": 19, "pairs_with_hard_negative": 15, "missing_gold": [], "steps": 1, "fingerprint": "f" * 64,
            "base_fingerprint": "b" * 64, "seconds": {"training": 1.0, "data": 1.0}, "load_average": {"start": 1, "end": 1}}
    (model / "fagui_train.json").write_text(json.dumps(info), encoding="utf-8")
    out = tmp_path / "REPORT.md"
    verdict = write(out, base, tuned, model, {"title": "A title", "load_note": "; idle"})
    text = out.read_text(encoding="utf-8")
    assert verdict["default"] is True and text.startswith("# A title")
    assert "| issue_map.json (2 issues, 3 provisions) | default | ×1 | — | — | — | — | 6 |" in text
    assert "| tuning.jsonl + tuning2.jsonl (5 probe questions) | default | ×1 | — | — | — | — | 4 |" in text
    assert "| stard_train.jsonl | national | ×1 | 10 | 7 | 1 | 2 | 9 |" in text
    assert "a provision of an issue of another area" in text and "(2 cores; idle)" in text
    assert "Paired differences" not in text  # these runs have no per-question files
