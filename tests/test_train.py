"""`eval.train`: deterministic held-out split, training pairs formatted like indexed
passages, and a tiny real fine-tuning run of m3e-small that yields a model the
indexer's Embedder loads (with its own fingerprint and different vectors).

Uses two real laws from ../shared (劳动合同法, 商标法) and real STARD questions whose
gold articles are all in them, so the run takes seconds instead of the minutes the
full national collection would need.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from eval.questions import load_questions
from indexer.passages import make_passages
from eval.splits import heldout_bucket
from eval.train import (
    TRAIN_INFO_FILE,
    DistinctTextBatches,
    make_pairs,
    hard_negative_retriever,
    split_questions,
    train_model,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAWREF = SHARED / "corpus" / "lawrefbook"
STARD = SHARED / "eval" / "stard" / "stard_train.jsonl"
LAWS = {"中华人民共和国劳动合同法": "社会法/劳动合同法(2012-12-28).md", "中华人民共和国商标法": "民法商法/商标法(2019-04-23).md"}

pytestmark = pytest.mark.skipif(not STARD.exists(), reason="needs ../shared (STARD questions and LawRefBook)")


@pytest.fixture(scope="module")
def documents():
    from corpus.markdown import read_lawrefbook

    return [read_lawrefbook(LAWREF / rel, LAWREF) for rel in LAWS.values()]


@pytest.fixture(scope="module")
def stard_rows():
    with open(STARD, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def small_question_file(tmp_path: Path, rows: list[dict], n: int) -> Path:
    """The first `n` STARD questions whose gold articles are all in LAWS."""
    chosen = [r for r in rows if all(g["law"] in LAWS for g in r["gold"])][:n]
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), encoding="utf-8")
    return path


def test_split_is_deterministic_disjoint_and_near_the_requested_share():
    questions = load_questions(STARD)
    train, heldout = split_questions(questions, 0.2)
    again_train, again_heldout = split_questions(list(reversed(questions)), 0.2)
    assert {q.id for q in heldout} == {q.id for q in again_heldout}  # order does not matter
    assert {q.id for q in train} == {q.id for q in again_train}
    assert not {q.id for q in train} & {q.id for q in heldout}
    assert len(train) + len(heldout) == len(questions)
    assert 0.15 < len(heldout) / len(questions) < 0.25
    assert split_questions(questions, 0.0) == (questions, [])
    assert all(0 <= heldout_bucket(q.id) < 1 for q in questions[:50])
    with pytest.raises(ValueError):
        split_questions(questions, 1.0)


def test_batches_never_repeat_a_text_and_use_each_example_once_per_epoch():
    # one article is the positive of nine questions and the negative of two others:
    # the library's NoDuplicatesDataLoader never finishes on data like this
    texts = [[f"q{i}", "第七条", f"neg{i}"] for i in range(9)] + [["qa", "第十条", "第七条"], ["qb", "第四条", "第七条"]]
    texts += [[f"r{i}", f"第{i}0条", "第二条"] for i in range(1, 6)]
    sampler = DistinctTextBatches(texts, batch_size=4, seed=0)
    first, second = list(sampler), list(sampler)
    for plan in (first, second):
        used = [i for batch in plan for i in batch]
        assert len(used) == len(set(used))  # each example at most once per epoch
        for batch in plan:
            assert 2 <= len(batch) <= 4
            flat = [t for i in batch for t in texts[i]]
            assert len(flat) == len(set(flat))
    assert first != second  # reshuffled between epochs
    again = DistinctTextBatches(texts, batch_size=4, seed=0)
    assert list(again) == first  # …deterministically


def test_pairs_use_indexed_passage_text_and_non_gold_negatives(tmp_path, documents, stard_rows):
    questions = load_questions(small_question_file(tmp_path, stard_rows, 12))
    passages = make_passages(documents)
    bm25 = hard_negative_retriever(documents, passages)
    pairs, missing = make_pairs(questions, passages, bm25)
    assert not missing
    assert len(pairs) == sum(len(q.gold) for q in questions)
    indexed = {p.indexed_text: p for p in passages}
    for pair, (question, gold) in zip(pairs, [(q, g) for q in questions for g in q.gold]):
        positive = indexed[pair.positive]  # exactly an indexed passage
        assert (positive.title, positive.number) == (gold.law, gold.article)
        negative = indexed[pair.negative]
        assert (negative.title, negative.number) not in {(g.law, g.article) for g in question.gold}


def test_tiny_training_run_writes_a_model_the_embedder_loads(tmp_path, documents, stard_rows):
    from indexer.embedder import Embedder

    questions_path = small_question_file(tmp_path, stard_rows, 12)
    out = tmp_path / "model"
    report = train_model(
        out, questions_path, epochs=1, batch_size=4, holdout=0.0, seed=0, progress=False,
        max_seq_length=64, documents=documents,
    )
    assert report.steps >= 2 and report.pairs >= 12 and report.train_questions == 12
    info = json.loads((out / TRAIN_INFO_FILE).read_text(encoding="utf-8"))
    assert info["fingerprint"] == report.fingerprint != report.base_fingerprint

    base = Embedder(precision="fp32")
    tuned = Embedder(model_path=out, precision="fp32")
    assert tuned.fingerprint == report.fingerprint != base.fingerprint
    assert tuned.max_seq_length == 512 and tuned.model.max_seq_length == 512  # window restored
    texts = ["用人单位未签书面劳动合同要付双倍工资吗？", "注册商标的有效期是多久？"]
    a, b = base.encode(texts), tuned.encode(texts)
    assert a.shape == b.shape == (2, base.dim)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(a, b, atol=1e-4)  # training changed the weights
    assert (a * b).sum(axis=1).min() > 0.8  # …but only a little (lr warm-up, one epoch)


def test_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path, stard_rows, documents):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError):
        train_model(out, small_question_file(tmp_path, stard_rows, 4), epochs=1, batch_size=2, documents=documents, progress=False)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
