"""Index directories: passages, build/load, refusal of foreign indexes, incremental
updates, BM25-first builds whose vectors follow, atomic swaps and a real kill -9 in the
middle of a build and of the vector step.

These tests are about the index machinery, not the model, so they use `HashEmbedder`
(deterministic bag-of-character-bigram vectors) which implements the embedder
interface; tests/test_indexer_model.py covers the real m3e-small.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from corpus.records import Document, Unit
from indexer import (
    FORMAT_VERSION,
    IndexConfig,
    IndexFormatError,
    IndexMismatchError,
    IndexStoreError,
    add_vectors,
    build_index,
    load_index,
    update_index,
)
from indexer.cache import EmbeddingCache
from indexer.passages import WindowSettings, make_passages, split_windows
from indexer.segment import Segmenter

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


class HashEmbedder:
    """Embedder stand-in: hashed character bigrams → 64-d unit vectors. Counts calls."""

    name = "hash-bigrams"
    model_path = Path("/nonexistent/hash-bigrams")
    precision = "fp32"
    max_seq_length = 512
    dim = 64

    def __init__(self, seed: str = "a", delay: float = 0.0, fail: bool = False):
        self.seed, self.delay, self.fail = seed, delay, fail
        self.encoded = 0

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"hash-bigrams-{self.seed}".encode()).hexdigest()

    @property
    def vector_key(self) -> str:
        return self.fingerprint[:32]

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for a, b in zip(text, text[1:]):
            vector[int(hashlib.md5(f"{self.seed}{a}{b}".encode()).hexdigest(), 16) % self.dim] += 1.0
        return vector / max(float(np.linalg.norm(vector)), 1e-9)

    def iter_encode(self, texts, progress=False, desc="embedding"):
        if self.fail:
            raise RuntimeError("this embedder must not be called")
        for start in range(0, len(texts), 8):
            if self.delay:
                time.sleep(self.delay)
            batch = list(range(start, min(start + 8, len(texts))))
            self.encoded += len(batch)
            yield batch, np.stack([self._vector(texts[i]) for i in batch])

    def encode_query(self, query: str) -> np.ndarray:
        if self.fail:
            raise RuntimeError("this embedder must not be called")
        return self._vector(query)

    def export_query_model(self, out) -> dict:
        return {"skipped": "hash embedder has no model to export"}


def make_law(title: str, articles: list[str], doc_id: str | None = None) -> Document:
    doc_id = doc_id or hashlib.sha1(title.encode()).hexdigest()[:10]
    units = [
        Unit(
            unit_id=f"{doc_id}:article:{i}",
            doc_id=doc_id,
            kind="article",
            text=text,
            number=f"第{i + 1}条",
            ordinal=i + 1,
            path=("第一章 总则",),
        )
        for i, text in enumerate(articles)
    ]
    return Document(doc_id=doc_id, title=title, doc_type="法律", source_path=f"{title}.md", source_format="markdown", units=units)


def sample_documents(extra: int = 0) -> list[Document]:
    docs = [
        make_law(
            "中华人民共和国个人信息保护法",
            [
                "本法所称个人信息处理者，是指在个人信息处理活动中自主决定处理目的、处理方式的组织、个人。",
                "个人信息处理者委托处理个人信息的，应当与受托人约定委托处理的目的、期限、处理方式。",
                "处理敏感个人信息应当取得个人的单独同意。",
            ],
        ),
        make_law(
            "中华人民共和国数据安全法",
            [
                "重要数据的处理者应当按照规定对其数据处理活动定期开展风险评估。",
                "国家机关委托他人建设、维护电子政务系统，存储、加工政务数据，应当经过严格的批准程序。",
            ],
        ),
        make_law(
            "中华人民共和国国家赔偿法",
            ["行政机关及其工作人员在行使行政职权时侵犯人身权的，受害人有取得赔偿的权利。"],
        ),
    ]
    for n in range(extra):
        docs.append(make_law(f"测试条例{n}", [f"第{n}号测试条例规定了数字政府建设中第{j}项政企合作责任。" for j in range(20)]))
    return docs


def quiet_config(**overrides) -> IndexConfig:
    return IndexConfig(**{"faiss_kind": "flat", **overrides})


# ------------------------------------------------------------------ passages


def test_context_line_names_title_path_and_number():
    doc = sample_documents()[0]
    passage = make_passages([doc])[1]
    assert passage.context == "中华人民共和国个人信息保护法 第一章 总则 第2条"
    assert passage.indexed_text.startswith(passage.context + "\n")
    assert (passage.unit_id, passage.window, passage.n_windows) == (doc.units[1].unit_id, 0, 1)


def test_long_unit_splits_into_overlapping_windows_of_the_same_unit():
    text = "".join(f"第{i}句规定了个人信息处理者的一项义务。" for i in range(200))
    doc = make_law("长法", [text])
    settings = WindowSettings(max_chars=200, overlap_chars=40)
    passages = make_passages([doc], settings)
    assert len(passages) > 5
    assert {p.unit_id for p in passages} == {doc.units[0].unit_id}
    assert all(len(p.indexed_text) <= settings.max_chars for p in passages)
    assert [p.window for p in passages] == list(range(len(passages)))
    assert passages[0].char_start == 0 and passages[-1].char_end == len(text)
    for before, after in zip(passages, passages[1:]):
        assert after.char_start < before.char_end  # overlap: nothing falls between windows
        assert text[before.char_start : before.char_end] == before.text


def test_split_windows_prefers_sentence_ends():
    text = "甲" * 150 + "。" + "乙" * 150
    spans = split_windows(text, 200, 20)
    assert spans[0] == (0, 151)


# ------------------------------------------------------------------ build / load


def test_build_writes_a_complete_self_describing_directory(tmp_path):
    index_dir = tmp_path / "idx"
    report = build_index(sample_documents(), index_dir, quiet_config(), progress=False, embedder=HashEmbedder())
    assert (report.documents, report.units, report.passages, report.embedded, report.cached) == (3, 6, 6, 6, 0)
    names = {p.name for p in index_dir.iterdir()}
    assert {"manifest.json", "passages.jsonl", "faiss.index", "bm25", "cache", "user_dict.json", "documents.jsonl"} <= names
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"]["weights_sha256"] == HashEmbedder().fingerprint
    assert manifest["model"]["dim"] == 64
    assert len(manifest["segmentation"]["dictionary_sha256"]) == 64
    assert manifest["segmentation"]["mode"] == "search"
    assert manifest["collection"]["passages"] == 6 and manifest["created"]
    assert not list(tmp_path.glob(".idx.*")), "no build or old directories left behind"


def test_loading_neither_embeds_nor_tokenises_documents(tmp_path, monkeypatch):
    index_dir = tmp_path / "idx"
    build_index(sample_documents(), index_dir, quiet_config(), progress=False, embedder=HashEmbedder())

    def no_tokenising(*args, **kwargs):
        raise AssertionError("documents were tokenised again on load")

    monkeypatch.setattr(Segmenter, "tokenize_many", no_tokenising)
    index = load_index(index_dir, embedder=HashEmbedder(fail=True))
    hits = index.search_bm25("个人信息处理者委托受托人", k=3)
    assert hits[0].unit_id.endswith(":article:1") and hits[0].retriever == "bm25"
    with pytest.raises(RuntimeError, match="must not be called"):
        index.search_dense("委托处理")  # only the query needs the model


def test_dense_and_hybrid_search_find_the_article(tmp_path):
    index_dir = tmp_path / "idx"
    build_index(sample_documents(), index_dir, quiet_config(), progress=False, embedder=HashEmbedder())
    index = load_index(index_dir, embedder=HashEmbedder())
    query = "国家机关委托他人建设维护电子政务系统"
    assert index.search_dense(query, k=1)[0].passage_id.startswith(sample_documents()[1].units[1].unit_id)
    fused = index.search(query, k=3)
    assert fused[0].unit_id == sample_documents()[1].units[1].unit_id
    assert [h.rank for h in fused] == [1, 2, 3]


def test_a_different_model_is_refused(tmp_path):
    index_dir = tmp_path / "idx"
    build_index(sample_documents(), index_dir, quiet_config(), progress=False, embedder=HashEmbedder(seed="a"))
    with pytest.raises(IndexMismatchError, match="built with model"):
        load_index(index_dir, embedder=HashEmbedder(seed="b"))


def test_a_different_format_version_is_refused(tmp_path):
    index_dir = tmp_path / "idx"
    build_index(sample_documents(), index_dir, quiet_config(), progress=False, embedder=HashEmbedder())
    manifest_path = index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="format version"):
        load_index(index_dir, embedder=HashEmbedder())


def test_changed_dictionary_is_refused(tmp_path):
    index_dir = tmp_path / "idx"
    build_index(sample_documents(), index_dir, quiet_config(), progress=False, embedder=HashEmbedder())
    path = index_dir / "user_dict.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["words"].append("新加的词")
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="segmentation"):
        load_index(index_dir, embedder=HashEmbedder())


def test_bm25_only_index_needs_no_model(tmp_path):
    index_dir = tmp_path / "idx"
    report = build_index(sample_documents(), index_dir, quiet_config(dense=False), progress=False)
    assert report.embedded == 0 and not (index_dir / "faiss.index").exists()
    index = load_index(index_dir)
    assert index.search("单独同意 敏感个人信息", k=1)[0].unit_id.endswith(":article:2")


def test_bm25_first_index_answers_at_once_and_vectors_swap_in_later(tmp_path):
    """`vectors_later` needs no model; `add_vectors` embeds every passage once, reports
    its progress, and leaves the BM25 part as it was."""
    index_dir = tmp_path / "idx"
    docs = sample_documents()
    first = build_index(docs, index_dir, quiet_config(), progress=False, embedder=HashEmbedder(fail=True),
                        vectors_later=True)
    assert (first.passages, first.embedded) == (6, 0) and not (index_dir / "faiss.index").exists()
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION and manifest["dense"] == {"state": "pending"}
    pending = load_index(index_dir, embedder=HashEmbedder(fail=True))
    assert pending.dense is None and pending.dense_state == "pending"
    assert pending.search("单独同意 敏感个人信息", k=1)[0].unit_id.endswith(":article:2")
    with pytest.raises(IndexStoreError, match="not embedded yet"):
        pending.search_dense("委托处理")

    seen = []
    done = add_vectors(index_dir, progress=False, embedder=HashEmbedder(), on_progress=lambda d, t: seen.append((d, t)))
    assert (done.passages, done.embedded, done.cached) == (6, 6, 0)
    assert seen[0] == (0, 6) and seen[-1] == (6, 6) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    complete = load_index(index_dir, embedder=HashEmbedder())
    assert complete.dense_state == "complete" and complete.manifest["collection"] == manifest["collection"]
    query = "国家机关委托他人建设维护电子政务系统"
    assert complete.search_dense(query, k=1)[0].unit_id == docs[1].units[1].unit_id
    assert add_vectors(index_dir, progress=False, embedder=HashEmbedder(fail=True)).passages == 0, "nothing to do"
    assert not list(tmp_path.glob(".idx.*"))

    # An update is searchable by BM25 at once; its vectors then embed only the new text.
    new_law = make_law("中华人民共和国行政诉讼法", ["公民认为行政行为侵犯其合法权益，有权提起诉讼。", "起诉应当在六个月内提出。"])
    update_index(index_dir, add=[new_law], progress=False, embedder=HashEmbedder(fail=True), vectors_later=True)
    updated = load_index(index_dir, embedder=HashEmbedder(fail=True))
    assert updated.dense is None and updated.search_bm25("六个月内提出", k=1)[0].doc_id == new_law.doc_id
    later = add_vectors(index_dir, progress=False, embedder=HashEmbedder())
    assert (later.embedded, later.cached, later.passages) == (2, 6, 8)


def test_version_1_indexes_are_still_read(tmp_path):
    """Format 2 only added `dense`; a version-1 manifest is read as complete / off."""
    for dense in (True, False):
        index_dir = tmp_path / f"idx-{dense}"
        build_index(sample_documents(), index_dir, quiet_config(dense=dense), progress=False, embedder=HashEmbedder())
        path = index_dir / "manifest.json"
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["format_version"] = 1
        del manifest["dense"]
        path.write_text(json.dumps(manifest), encoding="utf-8")
        index = load_index(index_dir, embedder=HashEmbedder())
        assert (index.dense is not None) == dense and index.dense_state == ("complete" if dense else "off")


# ------------------------------------------------------------------ incremental


def test_a_second_collection_reuses_the_vectors_of_one_built_with_the_same_model(tmp_path):
    """`national` is a subset of `default`: building it after `default` embeds nothing the
    other index already holds — for the same model only, and for BM25-first builds too."""
    docs = sample_documents()
    build_index(docs, tmp_path / "indexes" / "default", quiet_config(), progress=False, embedder=HashEmbedder())
    extra = make_law("中华人民共和国行政诉讼法", ["起诉应当在六个月内提出。"])
    report = build_index(docs[:2] + [extra], tmp_path / "indexes" / "national", quiet_config(), progress=False,
                         embedder=HashEmbedder())
    assert (report.passages, report.embedded, report.cached) == (6, 1, 5)
    other_model = build_index(docs[:2], tmp_path / "indexes" / "other", quiet_config(), progress=False,
                              embedder=HashEmbedder(seed="b"))
    assert (other_model.embedded, other_model.cached) == (5, 0)
    later_dir = tmp_path / "indexes" / "later"
    build_index(docs[:2], later_dir, quiet_config(), progress=False, vectors_later=True)
    added = add_vectors(later_dir, progress=False, embedder=HashEmbedder())
    assert (added.embedded, added.cached) == (0, 5)
    # the first index keeps its cache: the others linked its chunks, then compacted their own
    assert len(EmbeddingCache(tmp_path / "indexes" / "default" / "cache").load()) == 6


def test_a_cache_chunk_that_vanishes_while_adopted_is_skipped(tmp_path, monkeypatch):
    """Another process may rebuild the index whose cache is being adopted: its chunk is
    then gone and its text gets embedded again, the build does not fail."""
    source = EmbeddingCache(tmp_path / "source")
    source.append([bytes(32)], np.ones((1, 4), dtype=np.float32))

    def vanished(src, dst):
        raise FileNotFoundError(src)

    monkeypatch.setattr(os, "link", vanished)
    target = EmbeddingCache(tmp_path / "target")
    assert target.adopt_chunks_from(tmp_path / "source") == 0
    assert len(target.load()) == 0


def test_rebuild_and_updates_embed_only_new_text(tmp_path):
    index_dir = tmp_path / "idx"
    docs = sample_documents()
    build_index(docs, index_dir, quiet_config(), progress=False, embedder=HashEmbedder())

    again = build_index(docs, index_dir, quiet_config(), progress=False, embedder=HashEmbedder())
    assert (again.embedded, again.cached) == (0, 6)

    new_law = make_law("中华人民共和国行政诉讼法", ["公民认为行政机关的行政行为侵犯其合法权益，有权提起诉讼。"] * 1 + ["起诉应当在六个月内提出。"])
    added = update_index(index_dir, add=[new_law], progress=False, embedder=HashEmbedder())
    assert (added.added_documents, added.embedded, added.cached, added.passages) == (1, 2, 6, 8)

    changed = make_law(docs[2].title, ["行政机关及其工作人员违法行使职权侵犯财产权的，受害人有取得赔偿的权利。"], doc_id=docs[2].doc_id)
    replaced = update_index(index_dir, add=[changed], remove=[docs[0].doc_id], progress=False, embedder=HashEmbedder())
    assert (replaced.replaced_documents, replaced.removed_documents) == (1, 1)
    assert (replaced.embedded, replaced.cached, replaced.passages) == (1, 4, 5)

    index = load_index(index_dir, embedder=HashEmbedder())
    assert {p.doc_id for p in index.passages} == {docs[1].doc_id, docs[2].doc_id, new_law.doc_id}
    assert index.search_bm25("财产权", k=1)[0].doc_id == docs[2].doc_id
    missing = update_index(index_dir, remove=["nope"], progress=False, embedder=HashEmbedder())
    assert missing.warnings and missing.embedded == 0


def test_interrupted_swap_is_repaired_on_load(tmp_path):
    index_dir = tmp_path / "idx"
    build_index(sample_documents(), index_dir, quiet_config(), progress=False, embedder=HashEmbedder())
    # crash right after the first rename of a swap: only the old copy exists
    os.rename(index_dir, tmp_path / ".idx.old-dead")
    index = load_index(index_dir, embedder=HashEmbedder())
    assert len(index.passages) == 6 and index_dir.is_dir()


# ------------------------------------------------------------------ kill -9

CHILD = """
import sys
sys.path[:0] = [{repo!r}, {tests!r}]
import indexer.dense
indexer.dense.CACHE_FLUSH_EVERY = 8
from indexer import IndexConfig, build_index
from test_indexer import HashEmbedder, sample_documents
build_index(sample_documents(extra=30), {index_dir!r}, IndexConfig(faiss_kind="flat"),
            progress=False, embedder=HashEmbedder(delay=0.05))
print("finished")
"""


def _chunks(directory: Path) -> int:
    return sum(len(list(d.glob("cache/*.keys.npy"))) for d in directory.parent.glob(f".{directory.name}.build-*"))


def _kill_9_after_four_chunks(template: str, index_dir: Path) -> None:
    """Run `template` in a child process and SIGKILL it once its build directory holds
    four flushed cache chunks (so the kill lands in the middle of embedding)."""
    script = template.format(repo=str(REPO), tests=str(TESTS), index_dir=str(index_dir))
    child = subprocess.Popen([sys.executable, "-c", script], cwd=index_dir.parent, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _chunks(index_dir) < 4 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    assert child.poll() is None, f"the child finished before it could be killed: {child.communicate()}"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL


def test_kill_9_mid_build_keeps_previous_index_and_rerun_resumes(tmp_path):
    index_dir = tmp_path / "idx"
    build_index(sample_documents(), index_dir, quiet_config(), progress=False, embedder=HashEmbedder())
    before = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    _kill_9_after_four_chunks(CHILD, index_dir)

    index = load_index(index_dir, embedder=HashEmbedder())
    assert index.manifest["collection"] == before["collection"]
    assert len(index.passages) == 6
    assert index.search_bm25("单独同意", k=1)[0].unit_id.endswith(":article:2")

    counting = HashEmbedder()
    report = build_index(sample_documents(extra=30), index_dir, quiet_config(), progress=False, embedder=counting)
    assert report.passages == 6 + 30 * 20
    assert report.cached >= 6 + 8 * 2, "the killed build's flushed chunks were reused"
    assert counting.encoded == report.embedded < 30 * 20
    assert not list(tmp_path.glob(".idx.*")), "leftovers of the killed build are cleaned up"
    assert len(load_index(index_dir, embedder=HashEmbedder()).passages) == 606


VECTOR_CHILD = """
import sys
sys.path[:0] = [{repo!r}, {tests!r}]
import indexer.dense
indexer.dense.CACHE_FLUSH_EVERY = 8
from indexer import add_vectors
from test_indexer import HashEmbedder
add_vectors({index_dir!r}, progress=False, embedder=HashEmbedder(delay=0.05))
print("finished")
"""


def test_kill_9_during_the_vector_step_keeps_bm25_serving_and_the_next_run_resumes(tmp_path):
    """`fagui serve` embeds a BM25-first index in the background; killed there, the BM25
    index still answers and the next run embeds only what the killed one had not."""
    index_dir = tmp_path / "idx"
    docs = sample_documents(extra=30)
    build_index(docs, index_dir, quiet_config(), progress=False, vectors_later=True)
    _kill_9_after_four_chunks(VECTOR_CHILD, index_dir)

    index = load_index(index_dir, embedder=HashEmbedder(fail=True))
    assert index.dense_state == "pending" and len(index.passages) == 606
    assert index.search_bm25("单独同意", k=1)[0].unit_id.endswith(":article:2")

    counting = HashEmbedder()
    report = add_vectors(index_dir, progress=False, embedder=counting)
    assert report.passages == 606 and report.cached >= 8 * 4, "the killed run's flushed chunks were reused"
    assert counting.encoded == report.embedded == 606 - report.cached
    assert not list(tmp_path.glob(".idx.*")), "leftovers of the killed run are cleaned up"
    assert load_index(index_dir, embedder=HashEmbedder()).dense_state == "complete"


# ------------------------------------------------------------------ FAISS kinds and cache files


def test_approximate_index_is_selectable_and_chosen_above_the_threshold(tmp_path):
    from indexer.dense import choose_faiss_kind

    assert choose_faiss_kind("auto", 10, threshold=100) == "flat"
    assert choose_faiss_kind("auto", 101, threshold=100) == "hnsw"
    docs = sample_documents(extra=2)
    report = build_index(docs, tmp_path / "auto", quiet_config(faiss_kind="auto", ann_threshold=10), progress=False, embedder=HashEmbedder())
    assert report.faiss_kind == "hnsw"
    index = load_index(tmp_path / "auto", embedder=HashEmbedder())
    assert index.manifest["faiss"]["kind"] == "hnsw"
    exact = build_index(docs, tmp_path / "flat", quiet_config(), progress=False, embedder=HashEmbedder())
    assert exact.faiss_kind == "flat"
    query = "国家机关委托他人建设维护电子政务系统"
    flat_hits = load_index(tmp_path / "flat", embedder=HashEmbedder()).search_dense(query, k=3)
    assert [h.unit_id for h in index.search_dense(query, k=3)] == [h.unit_id for h in flat_hits]


def test_cache_ignores_incomplete_chunks(tmp_path):
    from indexer.cache import EmbeddingCache, text_key

    cache = EmbeddingCache(tmp_path / "cache")
    keys = [text_key("model", t) for t in ("甲", "乙")]
    cache.append(keys, np.eye(2, dtype=np.float32))
    (tmp_path / "cache" / "999-dead.vectors.npy.part").write_bytes(b"half a chunk")
    np.save(tmp_path / "cache" / "999-dead.keys.npy", np.zeros((3, 32), dtype=np.uint8))  # keys without vectors
    reloaded = EmbeddingCache(tmp_path / "cache").load()
    assert len(reloaded) == 2
    np.testing.assert_array_equal(reloaded.get(keys[1]), [0.0, 1.0])
    assert text_key("other-model", "甲") not in reloaded
