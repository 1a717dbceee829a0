"""indexer — passages, BM25 and dense retrieval, and index directories.

Public API (importing this package loads no model and no jieba dictionary):

    build_index(documents, index_dir, config=IndexConfig(), progress=True) -> BuildReport
    update_index(index_dir, add=[...], remove=[doc_id, ...], progress=True) -> BuildReport
    add_vectors(index_dir) -> BuildReport   (second step of build_index(..., vectors_later=True))
    load_index(index_dir, model_path=None) -> Index   (.search / .search_bm25 / .search_dense)
    Segmenter, build_user_dictionary, BM25Retriever, DenseRetriever, Embedder,
    Passage, Hit, BuildReport, reciprocal_rank_fusion

Backends: `IndexConfig(backend="faiss")` (default: files, FAISS + bm25s) or
`IndexConfig(backend="milvus", milvus_uri="")` (indexer.milvus_backend: Milvus Lite under the
index directory, or a Milvus server by URI); `load_index` opens either by the manifest.
"""
from indexer.bm25 import BM25Retriever
from indexer.dense import DenseRetriever
from indexer.embedder import Embedder
from indexer.hits import reciprocal_rank_fusion, unit_level_hits
from indexer.models import default_model_path
from indexer.passages import WindowSettings, make_passages
from indexer.records import BuildReport, Hit, Passage
from indexer.segment import Segmenter, SegmenterSettings, UserDictionary, build_user_dictionary
from indexer.store import (
    FORMAT_VERSION,
    Index,
    IndexConfig,
    IndexFormatError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStoreError,
    add_vectors,
    build_index,
    load_index,
    update_index,
)

__all__ = [
    "BM25Retriever",
    "BuildReport",
    "DenseRetriever",
    "Embedder",
    "FORMAT_VERSION",
    "Hit",
    "Index",
    "IndexConfig",
    "IndexFormatError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexStoreError",
    "Passage",
    "Segmenter",
    "SegmenterSettings",
    "UserDictionary",
    "WindowSettings",
    "add_vectors",
    "build_index",
    "build_user_dictionary",
    "default_model_path",
    "load_index",
    "make_passages",
    "reciprocal_rank_fusion",
    "unit_level_hits",
    "update_index",
]
