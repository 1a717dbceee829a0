"""Embedding cache: vectors keyed by sha256(vector key of the model + embedded text).

Layout: a directory of immutable chunks, `<name>.keys.npy` (fixed-width bytes) and
`<name>.vectors.npy` (float32). A chunk is written as `.part` files and renamed into
place, keys last, so a chunk either exists completely or not at all — a build killed
mid-way leaves every chunk flushed before the kill usable, and the rerun resumes from
them. Chunk names are unique (time + random), so chunks can be hard-linked between
directories (old index → new build) without copying or clashing.

Because the key includes the model's vector key (weights hash, precision, window), a
different model can never be served a cached vector of another.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

KEY_BYTES = 32  # sha256 digest; stored as uint8 rows (numpy "S" strings drop trailing NULs)


def text_key(vector_key: str, text: str) -> bytes:
    """Cache key of one embedded text under one model configuration."""
    return hashlib.sha256(f"{vector_key}\x1f{text}".encode("utf-8")).digest()


def _adopt_file(source: Path, target: Path) -> bool:
    """Hard-link (or copy, across file systems) `source` to `target`; False when `source`
    is gone — the index it belonged to was rebuilt meanwhile, so its text is embedded
    again instead of the build failing."""
    if target.exists():
        return True
    try:
        os.link(source, target)
    except FileNotFoundError:
        return False
    except OSError:
        try:
            shutil.copy2(source, target)
        except FileNotFoundError:
            return False
    return True


class EmbeddingCache:
    """Append-only store of (key → vector) in one directory."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._vectors: dict[bytes, np.ndarray] = {}
        self._loaded = False

    def _chunk_names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name[: -len(".keys.npy")] for p in self.directory.glob("*.keys.npy"))

    def load(self) -> "EmbeddingCache":
        """Read every complete chunk; silently skip a damaged one (it is only a cache)."""
        for name in self._chunk_names():
            try:
                keys = np.load(self.directory / f"{name}.keys.npy", allow_pickle=False)
                vectors = np.load(self.directory / f"{name}.vectors.npy", allow_pickle=False)
            except (OSError, ValueError):
                continue
            if keys.ndim != 2 or keys.shape[1] != KEY_BYTES or len(keys) != len(vectors):
                continue
            for key, vector in zip((row.tobytes() for row in keys), vectors):
                self._vectors[key] = vector
        self._loaded = True
        return self

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, key: bytes) -> bool:
        return key in self._vectors

    def get(self, key: bytes) -> np.ndarray | None:
        return self._vectors.get(key)

    def append(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Persist one chunk now (flushed and renamed into place), then remember it."""
        if len(keys) == 0:
            return
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        if any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"cache keys must be {KEY_BYTES}-byte digests")
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, KEY_BYTES)
        vector_array = np.ascontiguousarray(vectors, dtype=np.float32)
        for suffix, array in ((".vectors.npy", vector_array), (".keys.npy", key_array)):
            part = self.directory / f"{name}{suffix}.part"
            with open(part, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(part, self.directory / f"{name}{suffix}")
        for key, vector in zip(keys, vector_array):
            self._vectors[key] = vector

    def adopt_chunks_from(self, source: Path) -> int:
        """Hard-link (or copy) the complete chunks of another cache directory into this one.

        Used to carry the cache of the current index, of interrupted builds and of the
        other indexes built with the same model (`indexer.store._sibling_caches`) into a
        new build directory. Returns the number of chunks adopted.
        """
        source = Path(source)
        if not source.is_dir() or source.resolve() == self.directory.resolve():
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        adopted = 0
        for keys_file in source.glob("*.keys.npy"):
            name = keys_file.name[: -len(".keys.npy")]
            vectors_file = source / f"{name}.vectors.npy"
            if not vectors_file.exists():
                continue
            # keys last: a chunk whose keys file is missing is never read
            if all(_adopt_file(src, self.directory / src.name) for src in (vectors_file, keys_file)):
                adopted += 1
        return adopted

    def compact(self, keep: Iterable[bytes]) -> None:
        """Rewrite the directory as one chunk holding only `keep` (the current passages),
        so the cache does not grow without bound across updates. The new chunk is in
        place before the old files go, so a kill during compaction loses nothing."""
        kept = {k: self._vectors[k] for k in dict.fromkeys(keep) if k in self._vectors}
        old = sorted(self.directory.glob("*.npy")) + sorted(self.directory.glob("*.part")) if self.directory.is_dir() else []
        self._vectors = {}
        if kept:
            self.append(list(kept), np.stack(list(kept.values())))
        for path in old:
            path.unlink(missing_ok=True)
