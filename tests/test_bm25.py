"""BM25 via bm25s agrees with a slow pure-Python BM25 of the same (Lucene) variant."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from corpus.markdown import read_lawrefbook
from indexer.bm25 import BM25Retriever
from indexer.passages import make_passages
from indexer.segment import Segmenter, build_user_dictionary

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAWREFBOOK = SHARED / "corpus" / "lawrefbook"
FILES = ["行政法/个人信息保护法(2021-08-20).md", "行政法/数据安全法(2021-06-10).md"]
QUERIES = [
    "个人信息处理者委托处理个人信息",
    "数据安全 风险评估 重要数据",
    "个保法第十三条",
    "敏感个人信息 单独同意 未成年人",
    "跨境 提供 个人信息 安全评估",
    "完全不相关的词语组合例如火箭发动机",
]


def reference_bm25(corpus: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75) -> list[float]:
    """Textbook loop, Lucene variant as in bm25s:
    idf = ln(1 + (N - df + 0.5) / (df + 0.5)); tf part = tf / (tf + k1 (1 - b + b |d| / avgdl));
    summed over query tokens (repeats count again), tokens absent from the corpus skipped."""
    n = len(corpus)
    avgdl = sum(len(d) for d in corpus) / n
    df = Counter(t for d in corpus for t in set(d))
    scores = []
    for doc in corpus:
        tf = Counter(doc)
        score = 0.0
        for term in query:
            if df[term] == 0:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * tf[term] / (tf[term] + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(score)
    return scores


@pytest.fixture(scope="module")
def indexed():
    documents = [read_lawrefbook(LAWREFBOOK / f, LAWREFBOOK) for f in FILES]
    passages = make_passages(documents)
    segmenter = Segmenter(build_user_dictionary(documents))
    retriever = BM25Retriever(segmenter)
    tokens = segmenter.tokenize_many(p.indexed_text for p in passages)
    retriever.index(passages, tokens=tokens)
    return retriever, tokens


@pytest.mark.parametrize("query", QUERIES)
def test_scores_and_top_k_match_reference(indexed, query):
    retriever, tokens = indexed
    query_tokens = [t for t in retriever.segmenter.tokenize(query)]
    expected = np.array(reference_bm25(tokens, query_tokens))
    actual = retriever.scores(query)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
    top = np.argsort(-expected, kind="stable")[:10]
    top = [i for i in top if expected[i] > 0]
    hits = retriever.search(query, k=10)
    assert [h.unit_id for h in hits] == [retriever.passages[i].unit_id for i in top]
    for hit, index in zip(hits, top):
        assert hit.score == pytest.approx(expected[index], rel=1e-4)


def test_relevant_article_ranks_first(indexed):
    retriever, _ = indexed
    best = retriever.search("个人信息处理者委托处理个人信息 受托人", k=1)[0]
    assert "委托处理个人信息" in next(p.text for p in retriever.passages if p.passage_id == best.passage_id)
    assert [h.rank for h in retriever.search("个人信息", k=5)] == [1, 2, 3, 4, 5]


def test_unknown_query_gives_no_hits(indexed):
    retriever, _ = indexed
    assert retriever.search("zzzz qqqq", k=5) == []


def test_save_load_round_trip_without_pickle(indexed, tmp_path):
    retriever, _ = indexed
    retriever.save(tmp_path / "bm25")
    suffixes = {p.suffix for p in (tmp_path / "bm25").iterdir()}
    assert suffixes <= {".npy", ".json"}
    for array_file in (tmp_path / "bm25").glob("*.npy"):
        np.load(array_file, allow_pickle=False)  # raises if an object array had been pickled
    loaded = BM25Retriever(retriever.segmenter)
    loaded.load(tmp_path / "bm25", retriever.passages)
    for query in QUERIES:
        np.testing.assert_allclose(loaded.scores(query), retriever.scores(query), rtol=1e-6)
