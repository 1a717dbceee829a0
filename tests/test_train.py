"""`eval.train`: deterministic held-out split, training pairs formatted like indexed
passages, and a tiny real fine-tuning run of m3e-small that yields a model the
indexer's Embedder loads (with its own fingerprint and different vectors).

Uses two real laws from ../shared (劳动合同法, 商标法) and real STARD questions whose
gold articles are all in them, so the run takes seconds instead of the minutes the
full national collection would need.

The several-sources data preparation (issue 14: `trainable`, `mine`, `mined_pairs`,
`train_model(sources=...)`) is tested on tiny files in tmp_path and fake indexes: held-out
and dev questions are never kept or mined, pairs are repeated by their source's weight,
a negative is never a gold unit nor a gold text.
"""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from eval.questions import load_questions
from indexer.passages import make_passages
from eval.splits import heldout_bucket, is_dev, is_heldout, rule_for_file
from eval.train import (
    TRAIN_INFO_FILE,
    DistinctTextBatches,
    Mined,
    TrainSource,
    TrainingPair,
    fit,
    issue_map_pairs,
    issue_probe_pairs,
    probe_training_files,
    mine,
    mined_pairs,
    trainable,
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


# ---------------------------------------------------------------- several sources (issue 14)


def write_questions(path: Path, ids: list[str]) -> Path:
    rows = [{"id": i, "question": f"问题{i}", "gold": [{"law": "某法", "article": "第一条"}]} for i in ids]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_trainable_never_keeps_a_heldout_or_dev_question(tmp_path):
    stard = load_questions(write_questions(tmp_path / "stard_train.jsonl", [f"stard-{i}" for i in range(300)]))
    kept, counts = trainable(stard, tmp_path / "stard_train.jsonl")
    rule = rule_for_file("stard_train.jsonl")
    assert kept and not any(is_heldout(q.id, rule) or is_dev(q.id, rule) for q in kept)
    assert counts["heldout"] > 0 and counts["dev"] > 0
    assert counts["train"] + counts["dev"] + counts["heldout"] == counts["questions"] == 300
    # the domain sets: the odd half is held out, no dev slice
    domain = load_questions(write_questions(tmp_path / "domain_dev.jsonl", [f"dg-{i:03d}" for i in range(1, 11)]))
    kept, counts = trainable(domain, tmp_path / "domain_dev.jsonl")
    assert [q.id for q in kept] == ["dg-002", "dg-004", "dg-006", "dg-008", "dg-010"]
    assert counts == {"questions": 10, "train": 5, "dev": 0, "heldout": 5}


class FakeIndex:
    """search_bm25 / search_dense over fixed rankings."""

    def __init__(self, bm25: list[str], dense: list[str]):
        self.ranked = {"bm25": bm25, "dense": dense}
        self.calls = []

    def _hits(self, name, k):
        self.calls.append(name)
        return [SimpleNamespace(unit_id=u) for u in self.ranked[name][:k]]

    def search_bm25(self, query, k=10):
        return self._hits("bm25", k)

    def search_dense(self, query, k=10):
        return self._hits("dense", k)


def test_mine_resolves_gold_and_ranks_with_both_retrievers(tmp_path):
    questions = load_questions(write_questions(tmp_path / "q.jsonl", ["a-2"]))
    index = FakeIndex(["g", "x", "y"], ["g", "y", "z"])
    seconds = {}
    mined = mine(questions, lambda law, article: "g", index, dense=True, seconds=seconds)
    assert mined == [Mined("a-2", "问题a-2", ("g",), (), ("g", "x", "y"), ("g", "y", "z"))]
    assert set(seconds) == {"bm25_mining", "dense_mining"}
    unresolved = mine(questions, lambda law, article: None, FakeIndex([], []), dense=False)
    assert unresolved[0].gold == () and unresolved[0].missing == ("某法第一条",) and unresolved[0].dense == ()


def test_pairs_are_weighted_alternate_negatives_and_never_use_gold():
    texts = {u: f"text {u}" for u in ("g1", "g2", "b", "d", "dup")}
    texts["dup"] = texts["g2"]  # another unit with a gold article's exact text
    mined = [Mined("q-0", "问0", ("g1", "g2"), (), ("g1", "dup", "g2", "b"), ("g2", "d", "b"))]
    once = mined_pairs(mined, texts, weight=1)
    assert [(p.positive, p.negative) for p in once] == [("text g1", "text b"), ("text g2", "text d")]
    thrice = mined_pairs(mined, texts, weight=3)
    assert len(thrice) == 6
    assert [p.positive for p in thrice] == ["text g1"] * 3 + ["text g2"] * 3
    assert {p.negative for p in thrice} == {"text b", "text d"}  # both retrievers' negatives used
    gold_texts = {texts["g1"], texts["g2"]}
    assert not any(p.negative in gold_texts for p in thrice)
    # only gold in the rankings: no negative rather than a gold one
    assert all(p.negative is None for p in mined_pairs([Mined("q", "问", ("g1",), (), ("g1",), ("g1",))], texts))
    # a gold unit without a text makes no pair; a weight below 1 is refused
    assert mined_pairs([Mined("q", "问", ("nope",), (), ("b",), ())], texts) == []
    with pytest.raises(ValueError):
        mined_pairs(mined, texts, weight=0)


def test_sources_run_trains_only_on_the_training_part(tmp_path, monkeypatch):
    """train_model(sources=...) with two sources on fake pipelines: held-out questions
    are never mined, domain pairs are repeated by their weight."""
    import eval.train as train

    stard_ids = [f"stard-{i}" for i in range(40)]
    stard = write_questions(tmp_path / "stard_train.jsonl", stard_ids)
    domain = write_questions(tmp_path / "domain_dev.jsonl", [f"dg-{i:03d}" for i in range(1, 9)])
    seen: list[str] = []
    passages = [SimpleNamespace(unit_id=u, window=0, indexed_text=f"text {u}") for u in ("g", "n1", "n2")]

    class FakePipeline:
        index = FakeIndex(["g", "n1"], ["n2", "g"])
        index.passages = passages

        @staticmethod
        def resolve(law, article):
            return "g"

    real_mine = train.mine

    def spy(questions, *args, **kwargs):
        seen.extend(q.id for q in questions)
        return real_mine(questions, *args, **kwargs)

    captured = {}

    def fake_fit(model, pairs, settings, progress):
        captured["pairs"] = pairs
        return 1

    monkeypatch.setattr(train, "open_pipeline", lambda name: FakePipeline())
    monkeypatch.setattr(train, "mine", spy)
    monkeypatch.setattr(train, "fit", fake_fit)
    report = train.train_model(tmp_path / "out", sources=[TrainSource(stard, "national", 1), TrainSource(domain, "default", 3)],
                               progress=False)
    stard_rule = rule_for_file(stard)
    assert seen and not any(is_heldout(i, stard_rule) or is_dev(i, stard_rule) for i in seen if i.startswith("stard"))
    assert [i for i in seen if i.startswith("dg")] == ["dg-002", "dg-004", "dg-006", "dg-008"]
    by_source = {Path(r["file"]).name: r for r in report.sources}
    assert by_source["domain_dev.jsonl"]["pairs"] == 4 * 3
    assert by_source["stard_train.jsonl"]["pairs"] == by_source["stard_train.jsonl"]["train"]
    assert len(captured["pairs"]) == report.pairs == sum(r["pairs"] for r in report.sources)
    assert all(p.negative in ("text n1", "text n2") for p in captured["pairs"])
    assert report.settings["dense_negatives"] is True
    with pytest.raises(ValueError):
        train.train_model(tmp_path / "out2", sources=[TrainSource(stard, "national")], holdout=0.2, progress=False)


TINY_MAP = {
    "format": 1,
    "families": {"公司": ["外包公司", "软件公司"]},
    "issues": [
        {"id": "leak", "name": "受托企业泄露数据", "area": "数据", "cues": {"lay": ["@公司&泄露", "卖了", "漏了"], "legal": ["受托人"]},
         "provisions": [{"law": "数据法", "article": "第一条", "role": "duty", "why": "w"},
                        {"law": "数据法", "article": "第二条", "role": "liability", "why": "w"},
                        {"law": "数据法", "article": "第九条", "role": "liability", "why": "not in the collection"}]},
        {"id": "deadline", "name": "起诉期限", "area": "诉讼", "cues": {"lay": ["来得及"], "legal": ["起诉期限"]},
         "provisions": [{"law": "诉讼法", "article": "第三条", "role": "time_limit", "why": "w"}]},
    ],
}


def test_issue_map_pairs_are_made_of_the_maps_words_with_safe_negatives():
    from assistant.issue_map import parse_issue_map

    issue_map = parse_issue_map(TINY_MAP)
    units = {("数据法", "第一条"): "u1", ("数据法", "第二条"): "u2", ("诉讼法", "第三条"): "u3"}
    texts = {"u1": "数据法 第一条 受托人应当保护数据", "u2": "数据法 第二条 违反的罚款", "u3": "诉讼法 第三条 六个月内起诉"}
    pairs, counts = issue_map_pairs(issue_map, lambda law, article: units.get((law, article)), texts, seed=0)
    assert counts["provisions"] == 3 and counts["pairs"] == len(pairs) == 6  # two pseudo-questions per provision
    assert counts["unresolved"] == ["leak: 数据法第九条"]
    leak = [p for p in pairs if p.group == "leak"]
    assert [p.positive for p in leak] == [texts["u1"]] * 2 + [texts["u2"]] * 2
    assert all(p.negative == texts["u3"] for p in leak)  # another area's provision, never one of its own
    assert all(p.negative in (texts["u1"], texts["u2"]) for p in pairs if p.group == "deadline")
    lay, named = leak[2].question, leak[3].question  # the liability provision's two questions
    assert lay.endswith("谁来承担责任？") and named.startswith("受托企业泄露数据：受托人")
    words = lay.removesuffix("。谁来承担责任？").split("，")
    assert set(words) <= {"外包公司", "软件公司", "泄露", "卖了", "漏了"} and "泄露" in words  # the family as a member
    assert pairs[-1].question == "起诉期限：起诉期限。期限是多久？还来得及吗？"
    again, _ = issue_map_pairs(issue_map, lambda law, article: units.get((law, article)), texts, seed=0)
    assert again == pairs  # seeded: a rerun makes the same pairs


def test_issue_probe_pairs_take_the_issues_provisions_in_turn(tmp_path):
    from assistant.issue_map import parse_issue_map
    from corpus.records import IngestError

    units = {("数据法", "第一条"): "u1", ("数据法", "第二条"): "u2", ("诉讼法", "第三条"): "u3"}
    texts = {"u1": "数据法 第一条 受托人应当保护数据", "u2": "数据法 第二条 违反的罚款", "u3": "诉讼法 第三条 六个月内起诉"}
    issue_map = parse_issue_map(TINY_MAP | {"issues": TINY_MAP["issues"] + [
        {"id": "orphan", "name": "无条文", "area": "其他", "cues": {"lay": ["没有"], "legal": []},
         "provisions": [{"law": "别的法", "article": "第一条", "role": "basis", "why": "not in the collection"}]}]})
    probes = tmp_path / "tuning.jsonl"
    rows = [("p1", "leak", "外包公司把我的信息卖了，谁负责？"), ("p2", "leak", "软件公司漏了数据怎么办"),
            ("p3", "leak", "信息被卖了"), ("p4", "deadline", "还来得及告吗"), ("p5", "orphan", "图谱里没有条文的问题")]
    probes.write_text("\n".join(json.dumps({"id": i, "issue": issue, "question": q, "style": "short"}, ensure_ascii=False)
                                 for i, issue, q in rows) + "\n", encoding="utf-8")
    resolve = lambda law, article: units.get((law, article))  # noqa: E731
    pairs, counts = issue_probe_pairs(issue_map, resolve, texts, seed=0, files=[probes])
    # one pair per probe; the issue's provisions in turn, liability before duty (ROLE_PRIORITY)
    assert [(p.question_id, p.positive) for p in pairs] == [
        ("probe:p1", texts["u2"]), ("probe:p2", texts["u1"]), ("probe:p3", texts["u2"]), ("probe:p4", texts["u3"])]
    assert [p.group for p in pairs] == ["leak", "leak", "leak", "deadline"]
    assert all(p.negative == texts["u3"] for p in pairs[:3])  # another area's provision, never its own
    assert pairs[3].negative in (texts["u1"], texts["u2"])
    assert counts["pairs"] == 4 and counts["probes"] == 5 and counts["skipped"] == 1
    assert counts["unresolved"] == ["leak: 数据法第九条", "orphan: 别的法第一条"]
    assert counts["files"] == [str(probes.resolve())]  # each file, for the shipped model's manifest
    assert issue_probe_pairs(issue_map, resolve, texts, seed=0, files=[probes])[0] == pairs  # seeded
    bad = tmp_path / "tuning2.jsonl"
    bad.write_text(json.dumps({"id": "x", "issue": "renamed", "question": "q", "style": "short"}) + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"tuning2.jsonl:1: .*renamed"):  # a renamed issue is an error, not a skip
        issue_probe_pairs(issue_map, resolve, texts, seed=0, files=[bad])


def test_probe_training_never_reads_a_heldout_probe_set():
    files = probe_training_files()
    assert files and all(f.name.startswith("tuning") and f.exists() for f in files)
    assert not any("heldout" in f.name for f in files)


def test_pairs_of_one_group_never_share_a_batch(monkeypatch):
    """fit passes a pair's group to the batch sampler as one more text of the example."""
    import torch.utils.data

    captured = {}

    class Loader(list):
        def __init__(self, examples, batch_sampler):
            captured["batches"] = list(batch_sampler)
            super().__init__(captured["batches"])

    monkeypatch.setattr(torch.utils.data, "DataLoader", Loader)
    model = SimpleNamespace(old_fit=lambda **kwargs: None)
    pairs = [TrainingPair(f"q{i}", f"question {i}", f"positive {i}", f"negative {i}", group="g" if i < 4 else "") for i in range(16)]
    from eval.train import TrainSettings

    fit(model, pairs, TrainSettings(batch_size=4), progress=False)
    assert sorted(i for batch in captured["batches"] for i in batch) == list(range(16))  # room for all: none dropped
    for batch in captured["batches"]:
        assert sum(1 for i in batch if i < 4) <= 1
