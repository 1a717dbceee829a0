"""Content hashes of files: the parse cache, the index's query model and the reference
cache all key on a file's bytes.

WHY its own module: the indexer and the assistant need this one function, and importing
it from `corpus.catalog` pulled in every reader of the corpus along with it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (indexes hold files of ~100 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
