"""The Milvus backend on a real Milvus Lite database (no mocks) with the real m3e-small model.

One small real collection (two LawRefBook laws and a policy document) is indexed with
`fagui index --backend milvus`; the tests ask through the CLI, filter inside Milvus, add
and remove documents, refuse a backend mismatch, survive a failed write, and compare
BM25 and dense rankings with the default FAISS/bm25s backend built from the same
documents and the same cached vectors.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from corpus.catalog import add_files, load_collection

REPO = Path(__file__).resolve().parents[1]
LAWS = ["行政法/数据安全法(2021-06-10).md", "行政法/个人信息保护法(2021-08-20).md"]
COLLECTION = "mini-milvus"
QUERIES = ["国家机关委托企业维护电子政务系统，企业泄露了政务数据", "个人信息处理者委托处理个人信息", "数据出境安全评估",
           "敏感个人信息的处理规则", "违反本法规定给他人造成损害"]
POLICY = "# 某市政务数据共享管理办法\n\n第一条 政务数据共享应当遵循安全可控原则，受托企业不得泄露政务数据。\n\n第二条 违反本办法第一条规定的，依法给予处分。\n"


@pytest.fixture(scope="module")
def milvus_home(tmp_path_factory):
    """FAGUI_HOME with `mini-milvus` indexed by `fagui index --backend milvus` (real model)."""
    patch = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("milvus-home")
    patch.setenv("FAGUI_HOME", str(home))
    patch.setenv("CI", "true")
    policy = home.parent / "policy" / "政务数据共享管理办法.md"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(POLICY, encoding="utf-8")
    add_files(COLLECTION, [REPO / "data/lawrefbook" / rel for rel in LAWS] + [policy])
    assert main(["index", "--collection", COLLECTION, "--backend", "milvus", "--quiet"]) == 0
    yield home
    patch.undo()


def index_dir(home: Path) -> Path:
    return home / "indexes" / COLLECTION


def manifest(home: Path) -> dict:
    return json.loads((index_dir(home) / "manifest.json").read_text(encoding="utf-8"))


def ask_json(capsys, question: str, *options: str) -> dict:
    capsys.readouterr()
    assert main(["ask", question, "--collection", COLLECTION, "--json", *options]) == 0
    return json.loads(capsys.readouterr().out)


def test_build_records_backend_in_manifest_and_lite_file(milvus_home):
    data = manifest(milvus_home)
    assert data["backend"] == "milvus" and data["dense"]["state"] == "complete"
    assert data["milvus"]["uri"] == "" and data["milvus"]["bm25"] == "own"
    assert (index_dir(milvus_home) / "milvus.db").is_dir()
    generation = index_dir(milvus_home) / data["milvus"]["generation"]
    assert (generation / "documents.jsonl").is_file() and (generation / "terms.json").is_file()
    assert data["collection"]["searched_documents"] == 3


def test_rankings_equal_the_default_backend(milvus_home, tmp_path):
    """BM25 scores are exactly bm25s's (own segmentation in a sparse field); dense is exact
    (FLAT) over the same cached vectors, so the unit rankings agree."""
    from indexer.store import IndexConfig, build_index, load_index

    milvus = load_index(index_dir(milvus_home))
    faiss_dir = tmp_path / "faiss"
    # the vectors as a killed build would have left them (the next build adopts its cache)
    shutil.copytree(index_dir(milvus_home) / "cache", tmp_path / ".faiss.build-1-000000" / "cache")
    report = build_index(load_collection(COLLECTION).documents, faiss_dir, IndexConfig(query_onnx=False), progress=False)
    assert report.embedded == 0  # every vector came from the Milvus index's cache
    faiss = load_index(faiss_dir)
    for query in QUERIES:
        expected = faiss.search_bm25(query, 10)
        got = milvus.search_bm25(query, 10)
        assert [h.unit_id for h in got] == [h.unit_id for h in expected], query
        assert [round(h.score, 4) for h in got] == [round(h.score, 4) for h in expected]
        vector = faiss.embed_query(query)
        assert [h.unit_id for h in milvus.search_dense_vector(vector, 10)] == \
            [h.unit_id for h in faiss.search_dense_vector(vector, 10)]
    assert milvus.bm25.document_frequency("个人信息") == faiss.bm25.document_frequency("个人信息") > 0
    assert len(milvus.bm25.passages) == len(faiss.bm25.passages)


def test_ask_through_the_cli(milvus_home, capsys):
    answer = ask_json(capsys, "国家机关委托企业维护电子政务系统，企业泄露了政务数据，谁负责？")
    cited = [(h["law"], h["article"]) for h in answer["hits"] if h["origin"] == "search"]
    assert ("中华人民共和国数据安全法", "第四十条") in cited[:5]
    assert answer["retrieval"]["used"] == "hybrid"


def test_filters_run_inside_milvus(milvus_home, capsys):
    from assistant.pipeline import Filters
    from indexer.store import load_index

    index = load_index(index_dir(milvus_home))
    policy_type = next(d.doc_type for d in index.documents() if "共享管理办法" in d.title)
    where = index.scope(Filters(doc_type=(policy_type,)))
    hits = index.search_bm25("政务数据 受托企业 泄露", 10, where=where)
    assert hits and {h.doc_id for h in hits} == {d.doc_id for d in index.documents() if d.doc_type == policy_type}
    unfiltered = {index.passage(h.passage_id).title for h in index.search_bm25("数据 处理 个人信息", 30)}
    assert len(unfiltered) >= 2  # both laws match the words
    titled = index.search_bm25("数据 处理 个人信息", 30, where=index.scope(Filters(title="个人信息保护法")))
    assert titled and {index.passage(h.passage_id).title for h in titled} == {"中华人民共和国个人信息保护法"}
    # a quote in a filter value is a literal character, not syntax; a LIKE wildcard in it
    # leaves that clause to the pipeline's post-filter
    assert index.search_bm25("数据", 5, where=index.scope(Filters(title='法"'))) == []
    assert index.scope(Filters(title="个人%")) == ""
    answer = ask_json(capsys, "受托企业泄露政务数据", "--doc-type", policy_type)
    searched = [h for h in answer["hits"] if h["origin"] == "search"]
    assert searched and all(h["doc_type"] == policy_type for h in searched)


def test_backend_mismatch_is_refused(milvus_home, capsys, tmp_path):
    before = manifest(milvus_home)
    capsys.readouterr()
    assert main(["index", "--collection", COLLECTION, "--backend", "faiss", "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "built with the milvus backend, not faiss" in err and "--backend milvus" in err
    assert manifest(milvus_home) == before
    faiss_only = tmp_path / "faiss-only"
    assert main(["index", "--collection", COLLECTION, "--index-dir", str(faiss_only), "--bm25-only", "--quiet"]) == 0
    assert main(["index", "--collection", COLLECTION, "--index-dir", str(faiss_only), "--backend", "milvus",
                 "--quiet"]) != 0
    assert "built with the faiss backend, not milvus" in capsys.readouterr().err


def test_add_remove_and_reopen(milvus_home, capsys, tmp_path):
    """Ingest a document into the Milvus-backed collection, find it, remove it; every
    update writes a new Milvus collection and drops the previous one; a fresh process
    reopens the Lite database."""
    from indexer.milvus_backend import client_for, milvus_collection_name, release, resolve_uri

    new = tmp_path / "公共数据授权运营办法.md"
    new.write_text("# 某省公共数据授权运营办法\n\n第一条 公共数据授权运营单位应当建立数据脱敏审计制度。\n",
                   encoding="utf-8")
    old_collection = manifest(milvus_home)["milvus"]["collection"]
    assert main(["ingest", str(new), "--collection", COLLECTION]) == 0
    data = manifest(milvus_home)
    assert data["milvus"]["collection"] != old_collection and data["collection"]["searched_documents"] == 4
    uri = resolve_uri(index_dir(milvus_home), "")
    prefix = milvus_collection_name(COLLECTION, "")
    assert [c for c in client_for(uri).list_collections() if c.startswith(prefix)] == [data["milvus"]["collection"]]
    assert [p.name for p in index_dir(milvus_home).glob("gen-*")] == [data["milvus"]["generation"]]
    hits = ask_json(capsys, "公共数据授权运营 数据脱敏审计", "--mode", "bm25")["hits"]
    assert hits[0]["law"] == "某省公共数据授权运营办法"

    source = next(d.source_path for d in load_collection(COLLECTION).documents if "授权运营" in d.title)
    assert main(["remove", source, "--collection", COLLECTION]) == 0
    assert manifest(milvus_home)["collection"]["searched_documents"] == 3
    hits = ask_json(capsys, "公共数据授权运营 数据脱敏审计", "--mode", "bm25")["hits"]
    assert all(h["law"] != "某省公共数据授权运营办法" for h in hits)

    release(uri)  # Milvus Lite serves a file to one process at a time
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "数据安全法第四十条的受托方义务", "--collection",
                           COLLECTION, "--json"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert any(h["article"] == "第四十条" for h in json.loads(done.stdout)["hits"])


def test_failed_write_keeps_the_previous_version(milvus_home, capsys, tmp_path):
    """A document Milvus refuses (a region longer than the scalar field allows) fails the
    update after the new collection was created: it is dropped, the manifest and the
    previous collection stay, and questions are answered as before."""
    from indexer.milvus_backend import client_for, resolve_uri
    from indexer.store import IndexConfig, load_index, update_index

    before = manifest(milvus_home)
    documents = load_collection(COLLECTION).documents
    bad = documents[0].__class__.from_dict({**documents[0].to_dict(), "doc_id": "bad-region", "region": "区" * 300})
    with pytest.raises(Exception, match="region"):
        update_index(index_dir(milvus_home), add=[bad], progress=False,
                     config=IndexConfig.from_dict(before["config"]))
    assert manifest(milvus_home) == before
    names = client_for(resolve_uri(index_dir(milvus_home), "")).list_collections()
    assert before["milvus"]["collection"] in names and len([n for n in names if n.startswith("fagui_mini_milvus_")]) == 1
    assert load_index(index_dir(milvus_home)).search_bm25("政务数据", 3)
