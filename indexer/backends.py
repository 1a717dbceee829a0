"""`fagui index --backend/--milvus-uri`: which backend a build uses.

Without `--backend` an existing index keeps the backend (and Milvus URI) it was built
with, so `fagui index --collection NAME` updates a Milvus-backed collection in place; a
fresh index uses the default backend. Asking for the other backend of an existing index
is refused by `indexer.store.check_backend` with the reason and the fix.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from corpus.errors import UsageError
from indexer.store import DEFAULT_BACKEND, IndexConfig, manifest_backend, read_manifest


def apply_backend_options(config: IndexConfig, index_dir: Path, backend: str | None, milvus_uri: str | None) -> IndexConfig:
    """`config` with the backend and Milvus URI to build with (see module docstring)."""
    stored: dict = {}
    if (Path(index_dir) / "manifest.json").exists():
        stored = read_manifest(index_dir)
    chosen = backend or (manifest_backend(stored) if stored else DEFAULT_BACKEND)
    if milvus_uri and chosen != "milvus":
        raise UsageError("--milvus-uri needs --backend milvus")
    uri = milvus_uri if milvus_uri is not None else (stored.get("milvus") or {}).get("uri", "")
    bm25 = (stored.get("config") or {}).get("milvus_bm25", config.milvus_bm25)
    return replace(config, backend=chosen, milvus_uri=uri or "", milvus_bm25=bm25)
