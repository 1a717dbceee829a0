"""The cross-encoder reranker: the fixed splits, the reordering rule, the folder checks,
the shipped model on real articles, and reranking through the real pipeline and CLI."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.cli import main
from assistant.pipeline import Pipeline
from corpus.hashing import file_sha256
from eval.questions import load_questions
from eval.splits import HASH_RULE, ODD_RULE, is_dev, is_heldout, rule_for_file, select
from indexer.rerank import MANIFEST_FILE, MODEL_FILE, Reranker, RerankerError, read_manifest, rerank_order
from indexer.vectors import pad_batch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHIPPED = REPO / "models" / "reranker"
LAWS = [
    "行政法/数据安全法(2021-06-10).md",
    "行政法/个人信息保护法(2021-08-20).md",
    "宪法相关法/国家赔偿法(2012-10-26).md",
]


# ------------------------------------------------------------------ splits


def test_splits_are_fixed_by_id_and_never_overlap():
    stard = load_questions(SHARED / "eval/stard/stard_train.jsonl")
    assert rule_for_file("x/stard_train.jsonl") == HASH_RULE and rule_for_file("mine.csv") == HASH_RULE
    heldout = select(stard, "heldout", HASH_RULE)
    train = select(stard, "train", HASH_RULE)
    assert len(heldout) + len(train) == len(stard)
    assert 0.17 < len(heldout) / len(stard) < 0.23  # the 20 % share, by hash
    dev = [q for q in stard if is_dev(q.id, HASH_RULE)]
    assert dev and not [q for q in dev if is_heldout(q.id, HASH_RULE)]
    # the same ids every time: a hash, not a random draw
    assert [q.id for q in select(stard, "heldout", HASH_RULE)] == [q.id for q in heldout]
    assert is_heldout("stard-0", HASH_RULE) == is_heldout("stard-0", HASH_RULE)


def test_domain_split_is_the_odd_half_the_issue_map_never_saw():
    lay = load_questions(SHARED / "eval/domain/domain_lay_dev.jsonl")
    assert rule_for_file("domain_lay_dev.jsonl") == ODD_RULE
    held = select(lay, "heldout", ODD_RULE)
    assert held and all(int(q.id.rsplit("-", 1)[1]) % 2 == 1 for q in held)
    assert not [q for q in lay if is_dev(q.id, ODD_RULE)]
    with pytest.raises(ValueError):
        select(lay, "test", ODD_RULE)


# ------------------------------------------------------------------ reordering


def test_rerank_order_by_score_alone_reorders_only_the_head():
    ranked = ["a", "b", "c", "d"]
    scores = {"a": 0.1, "b": 2.0, "c": 1.0}
    assert rerank_order(ranked, scores, depth=3, blend=0) == ["b", "c", "a", "d"]


def test_rerank_order_blend_fuses_reranker_and_retrieval_ranks():
    ranked = ["a", "b", "c"]
    scores = {"a": 0.0, "b": 0.5, "c": 1.0}  # reranker order c, b, a
    # blend 1: a = 1/13 + 1/11 = c = 1/11 + 1/13 > b = 2/12; the tie a/c keeps the retrieval order
    assert rerank_order(ranked, scores, depth=3, blend=1.0) == ["a", "c", "b"]
    # retrieval weighted double: a = 1/13 + 2/11 > b = 1/12 + 2/12 > c = 1/11 + 2/13
    assert rerank_order(ranked, scores, depth=3, blend=2.0) == ["a", "b", "c"]
    # blend 0.5: c = 1/11 + 0.5/13 > b = 1/12 + 0.5/12 > a = 1/13 + 0.5/11
    assert rerank_order(ranked, scores, depth=3, blend=0.5) == ["c", "b", "a"]


def test_pad_batch_keeps_segment_ids_of_pairs():
    feeds = pad_batch([[1, 2, 3], [4, 5]], 0, ["input_ids", "attention_mask", "token_type_ids"],
                      type_ids=[[0, 0, 1], [0, 1]])
    assert feeds["token_type_ids"].tolist() == [[0, 0, 1], [0, 1, 0]]
    assert feeds["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]


# ------------------------------------------------------------------ the folder


def test_shipped_reranker_is_complete_small_and_unaltered():
    manifest = read_manifest(SHIPPED)
    assert (SHIPPED / MODEL_FILE).stat().st_size <= 60 * 1024 * 1024
    assert manifest["sha256"] == file_sha256(SHIPPED / MODEL_FILE)
    for key in ("base_model", "data", "settings", "command", "split", "export_checks"):
        assert manifest[key], key
    assert manifest["export_checks"]["fp32"]["max_abs_diff"] <= 1e-3


def test_altered_or_incomplete_folder_is_refused_by_name(tmp_path):
    folder = tmp_path / "rr"
    shutil.copytree(SHIPPED, folder)
    with open(folder / MODEL_FILE, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(RerankerError, match="sha256 differs"):
        Reranker(folder)
    (folder / MANIFEST_FILE).unlink()
    with pytest.raises(RerankerError, match=r"rr: not a reranker folder \(missing manifest.json\)"):
        Reranker(folder)


def test_shipped_reranker_scores_real_articles_deterministically(default_documents):
    """Real model, real articles: one finite logit per article, the same on a second call
    and whatever order or company the articles come in (one pair per int8 call: a batch's
    dynamic quantisation would make a score depend on its batch-mates) or however many
    lanes score them. Its ranking quality is measured where it can be, held out (eval/reports/RERANK.md):
    alone it ranks worse than retrieval, and it leans towards 民法典 articles."""
    from indexer.rerank import rerank_text

    texts = [rerank_text(doc, unit) for doc in default_documents if doc.status == "current"
             and doc.title in ("中华人民共和国数据安全法", "中华人民共和国国家赔偿法") for unit in doc.units[:8]]
    assert len(texts) == 16
    reranker = Reranker(SHIPPED)
    question = "政府委托的公司泄露了我们的政务数据，受托方要承担什么义务？"
    scores = reranker.score(question, texts)
    assert scores.shape == (16,) and np.isfinite(scores).all() and scores.std() > 0.1
    assert np.array_equal(reranker.score(question, texts), scores)
    order = list(reversed(range(16)))
    assert np.allclose(reranker.score(question, [texts[i] for i in order]), scores[order], atol=1e-6)
    assert np.allclose(reranker.score(question, texts[:3]), scores[:3], atol=1e-6)
    # the lanes (indexer/rerank.py LANES) only change who runs a call: one lane — the plain
    # loop — and three lanes give the very same scores
    assert np.array_equal(Reranker(SHIPPED, threads=1).score(question, texts), scores)
    assert np.array_equal(Reranker(SHIPPED, threads=3).score(question, texts), scores)


# ------------------------------------------------------------------ pipeline and CLI


@pytest.fixture(scope="module")
def home(indexed_home):
    return indexed_home("rr", LAWS)


def test_pipeline_reranks_the_top_and_records_rank_changes(home):
    pipeline = Pipeline.open("rr")
    assert pipeline.reranker is not None and pipeline.reranker.info.sha256 == read_manifest(SHIPPED)["sha256"]
    question = "受托处理政务数据的企业泄露了个人信息，行政机关要承担什么责任？"
    plain = pipeline.retrieve(question, k=10, rerank=False)
    reranked = pipeline.retrieve(question, k=10, rerank=True)
    assert all("rerank" not in scores for _, scores in plain)
    head = reranked[: pipeline.rerank_depth]
    assert all("rerank" in scores and scores["rank_before"] >= 1 for _, scores in head)
    before = [u for u, _ in pipeline.retrieve(question, k=pipeline.rerank_depth, rerank=False)]
    # every reranked unit came from the unreranked top: reranking reorders, never adds
    assert {u for u, _ in reranked} <= set(before)
    assert [s["rank_before"] for _, s in reranked] == [before.index(u) + 1 for u, _ in reranked]
    assert pipeline.fingerprint()["reranker"]["sha256"] == read_manifest(SHIPPED)["sha256"]


def test_cli_rerank_switches_and_says_which_answered(home, capsys, monkeypatch):
    question = "受托企业泄露政务数据，委托的行政机关要承担什么责任？"
    assert main(["ask", question, "--collection", "rr", "--json", "--rerank"]) == 0
    on = json.loads(capsys.readouterr().out)
    assert on["retrieval"]["rerank"] == read_manifest(SHIPPED)["name"] and "rerank" in on["timings_ms"]
    assert main(["ask", question, "--collection", "rr", "--json", "--no-rerank"]) == 0
    off = json.loads(capsys.readouterr().out)
    assert off["retrieval"]["rerank"] == "" and "rerank" not in off["timings_ms"]
    monkeypatch.setenv("FAGUI_RERANKER", "off")
    assert main(["ask", question, "--collection", "rr", "--rerank"]) == 2
    assert "no reranker" in capsys.readouterr().err
    monkeypatch.setenv("FAGUI_RERANKER", str(home / "nowhere"))
    assert main(["ask", question, "--collection", "rr"]) == 2
    assert "nowhere: not a reranker folder" in capsys.readouterr().err


def test_eval_split_and_reranker_are_recorded(home, tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    rows = [{"id": f"q-{i}", "question": "行政机关委托企业处理数据泄露的责任", "gold": [
        {"law": "中华人民共和国数据安全法", "article": "第四十条"}]} for i in range(1, 7)]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["eval", str(questions), "--collection", "rr", "--split", "heldout", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    expected = len(select(load_questions(questions), "heldout", HASH_RULE))
    assert metrics["config"]["split"] == "heldout"
    assert 0 < expected < len(rows) and metrics["counts"]["questions"] == expected
    assert metrics["pipeline"]["reranker"]["name"] == read_manifest(SHIPPED)["name"]
    assert metrics["pipeline"]["rerank"] is True


# ------------------------------------------------------------------ training


def test_training_pairs_come_in_whole_groups_from_the_training_part_only():
    from eval.train_rerank import Candidates, RerankSettings, make_pairs

    def item(qid, heldout=False, dev=False, source="stard_train.jsonl"):
        return Candidates(qid, f"问题{qid}", "national", source, heldout, dev, ("g1", "g2"),
                          ("g1", "n1", "n2", "n3", "n4", "n5", "g2", "n6"))

    texts = {u: f"text {u}" for u in ("g1", "g2", "n1", "n2", "n3", "n4", "n5", "n6")}
    settings = RerankSettings(group_size=3, max_positives=1, domain_weight=2)
    pairs = make_pairs([item("a"), item("b", heldout=True), item("c", dev=True),
                        item("d", source="domain_dev.jsonl")], texts, settings)
    groups = [pairs[i : i + 3] for i in range(0, len(pairs), 3)]
    assert len(groups) == 3  # a once, d twice (domain weight), held-out b and dev c never
    assert {g[0][0] for g in groups} == {"问题a", "问题d"}
    for group in groups:
        assert [label for _, _, label in group] == [1.0, 0.0, 0.0]
        assert group[0][1] == "text g1"  # max_positives=1: the first gold article
        assert group[1][1] == "text n1"  # the highest-ranked non-gold candidate
        assert all(t not in ("text g1", "text g2") for _, t, _ in group[1:])


def test_group_softmax_loss_is_cross_entropy_per_group():
    import torch

    from eval.train_rerank import GroupSoftmaxLoss

    logits = torch.tensor([2.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    expected = (-np.log(np.exp(2) / (np.exp(2) + 2)) - np.log(1 / (2 + np.e))) / 2
    assert float(GroupSoftmaxLoss(3)(logits, labels)) == pytest.approx(expected, rel=1e-6)


def test_train_reranker_end_to_end_is_reproducible(home, tmp_path):
    """`fagui train --reranker` on a few questions of a real collection: mined candidates,
    training, the verified export, a loadable folder; the same seed gives the same weights."""
    from eval.train_rerank import RerankSettings, train_reranker

    questions = tmp_path / "own.jsonl"
    rows = [("q-1", "受托处理个人信息的企业泄露数据要承担什么责任", "中华人民共和国个人信息保护法", "第二十一条"),
            ("q-2", "国家机关委托他人建设政务数据系统应当履行什么义务", "中华人民共和国数据安全法", "第四十条"),
            ("q-3", "行政机关违法侵犯公民权益造成损害怎么赔偿", "中华人民共和国国家赔偿法", "第三条"),
            ("q-4", "国家赔偿的请求时效是多久", "中华人民共和国国家赔偿法", "第三十九条")]
    questions.write_text("\n".join(json.dumps({"id": i, "question": q, "gold": [{"law": law, "article": a}]},
                                              ensure_ascii=False) for i, q, law, a in rows) + "\n", encoding="utf-8")
    settings = RerankSettings(group_size=3, groups_per_batch=2, max_positives=1)
    first = train_reranker(tmp_path / "a", ((questions, "rr"),), settings)
    assert first.questions["train"] + first.questions["heldout"] == 4 and first.pairs > 0
    assert first.export["fp32"]["max_abs_diff"] <= 1e-3 and first.export["int8"]["spearman"] > 0.9
    manifest = read_manifest(tmp_path / "a")
    assert manifest["data"][0]["sha256"] == file_sha256(questions)
    scores = Reranker(tmp_path / "a").score("国家赔偿的请求时效", ["国家赔偿请求人请求国家赔偿的时效为两年", "示例"])
    assert scores.shape == (2,) and np.isfinite(scores).all()
    train_reranker(tmp_path / "b", ((questions, "rr"),), settings)
    assert read_manifest(tmp_path / "b")["sha256"] == manifest["sha256"]


def test_retrieval_details_show_the_reranker_score_and_rank_change(home):
    from assistant.app_handlers import AppConfig, FaguiApp
    from assistant.render import rank_change

    assert rank_change({"rank_before": 12, "fused_rank": 3}) == "12 → 3 (↑9)"
    assert rank_change({"rank_before": 2, "fused_rank": 5}) == "2 → 5 (↓3)"
    assert rank_change({"rank_before": None, "fused_rank": 25}) == "—"
    app = FaguiApp(AppConfig(collection="rr", progress=False))
    question = "国家机关委托他人建设政务数据系统应当履行什么义务"
    html = app.details(question, "rr", rerank=True)
    assert "重排分" in html and "名次变化" in html and "→" in html
    plain = app.details(question, "rr", rerank=False)
    assert "重排分" not in plain
    rows, _ = app.details_rows(app._pipeline("rr"), question, rerank=True)
    reranked = [r for r in rows if r["rerank"] is not None]
    assert reranked and all(r["rank_before"] >= 1 for r in reranked)


def test_bench_records_and_passes_on_the_reranking_choice():
    from eval.bench import rerank_flags, reranker_text

    assert rerank_flags(None) == [] and rerank_flags(True) == ["--rerank"] and rerank_flags(False) == ["--no-rerank"]
    info = {"name": "fagui-rerank-m3e-small", "sha256": "501ec4848c5d4d2a"}
    assert reranker_text({"reranker": info, "rerank": True, "rerank_depth": 20}) == \
        "reranker fagui-rerank-m3e-small (sha256 501ec484…, top 20)"
    assert reranker_text({"reranker": info, "rerank": False}) == "no reranking"


def test_int8_weights_use_the_reduced_range_only_where_the_cpu_kernels_saturate():
    """AVX2 without VNNI sums u8 × s8 pairs into int16 (saturates): 7-bit weights there;
    VNNI, AVX-512 VNNI and non-x86 CPUs keep 8-bit weights (the shipped export)."""
    from indexer.embedder import int8_needs_reduced_range

    assert int8_needs_reduced_range("flags : fpu sse2 avx avx2 fma")
    assert not int8_needs_reduced_range("flags : avx2 avx512f avx512_vnni")
    assert not int8_needs_reduced_range("flags : avx2 avx_vnni")
    assert not int8_needs_reduced_range("Features : fp asimd asimddp")
