"""Index and document management shared by the CLI (`fagui ingest/remove`) and the app.

The app answers from one loaded `Pipeline` per collection while uploads are parsed and
the index is rebuilt next to it: `build_index` writes a new directory and swaps it in
atomically, and only then is a new `Pipeline` opened and swapped in under a lock. So a
query never sees a half-built index, and builds of one process are serialised by a
single build lock (two users uploading at once queue instead of racing).
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from corpus.records import FileReport, IngestError

DEFAULT_MAX_UPLOAD_MB = 50
#: Extension → formats `corpus.ingest.sniff_format` may find in such a file. A file is
#: accepted only when its content agrees with its name (an HTML page named .pdf is not).
UPLOAD_FORMATS = {
    ".pdf": {"pdf"},
    ".docx": {"docx"},
    ".txt": {"text", "markdown"},
    ".md": {"markdown", "text"},
    ".markdown": {"markdown", "text"},
}


def refresh_index(collection: str, *, progress: bool = False):
    """Bring an existing index up to date with its collection; None if it has no index.

    The build re-tokenises (cheap) but takes every vector whose text is unchanged from
    the embedding cache, so only new or changed text is embedded; the swap is atomic.
    """
    from assistant.pipeline import default_index_dir
    from corpus.catalog import load_collection
    from indexer.store import IndexConfig, build_index, read_manifest

    index_dir = default_index_dir(collection)
    if not (index_dir / "manifest.json").exists():
        return None
    config = IndexConfig.from_dict(read_manifest(index_dir).get("config", {}))
    documents = load_collection(collection, progress=progress).documents
    return build_index(documents, index_dir, config, progress=progress)


def build_new_index(collection: str, *, progress: bool = False, config=None):
    """Parse a collection and build its index from scratch (first run of `fagui serve`)."""
    from assistant.pipeline import default_index_dir
    from corpus.catalog import load_collection
    from indexer.store import IndexConfig, build_index

    result = load_collection(collection, progress=progress)
    if not result.documents:
        raise ValueError(f"collection {collection!r} has no documents")
    return build_index(result.documents, default_index_dir(collection), config or IndexConfig(), progress=progress)


def has_index(collection: str) -> bool:
    from assistant.pipeline import default_index_dir

    return (default_index_dir(collection) / "manifest.json").exists()


# ------------------------------------------------------------------ uploads


def check_upload(path: Path, original_name: str, max_bytes: int) -> str:
    """The format of an uploaded file, or IngestError saying why it is refused.

    Checks size first (cheap), then the name's extension, then the content's magic
    bytes, which must agree with the extension.
    """
    from corpus.ingest import sniff_format

    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(original_name, f"file too large ({size / 1e6:.1f} MB; limit {max_bytes / 1e6:.0f} MB)")
    suffix = Path(original_name).suffix.lower()
    allowed = UPLOAD_FORMATS.get(suffix)
    if allowed is None:
        raise IngestError(original_name, f"unsupported file type {suffix or '(none)'}; upload PDF, DOCX, TXT or MD")
    try:
        fmt = sniff_format(path)
    except IngestError as exc:
        raise IngestError(original_name, exc.reason) from exc
    if fmt not in allowed:
        raise IngestError(original_name, f"named {suffix} but the content is {fmt}")
    return fmt


@dataclass
class UploadOutcome:
    """Per-file reports of one upload batch (accepted and refused), in input order."""

    reports: list[FileReport] = field(default_factory=list)
    stored: list[Path] = field(default_factory=list)

    @property
    def accepted(self) -> list[FileReport]:
        return [r for r in self.reports if r.ok]


def add_uploads(collection: str, files: list[tuple[Path, str]], *, max_bytes: int, ocr: bool = True) -> UploadOutcome:
    """Check, store and parse uploaded files `(temporary path, original name)`.

    A file is stored (under the collection's user folder, with a sanitised name) only
    after its checks pass, and removed again if it cannot be parsed, so a refused file
    never reaches the collection. Parsing goes through the parse cache, so the index
    build that follows does not parse it again.
    """
    from corpus.catalog import (ParseCache, add_files, cached_reader, fagui_home, load_spec, parser_fingerprint,
                                sanitize_filename)
    from corpus.ingest import report_for

    spec = load_spec(collection)
    cache = ParseCache(fagui_home() / "cache" / "parsed", parser_fingerprint())
    read = cached_reader(spec.state_dir, cache, ocr=ocr)
    outcome = UploadOutcome()
    for path, name in files:
        try:
            check_upload(path, name, max_bytes)
        except IngestError as exc:
            outcome.reports.append(FileReport(path=name, ok=False, error=exc.reason))
            continue
        with tempfile.TemporaryDirectory(prefix="fagui-upload-") as staging:
            staged = Path(staging) / sanitize_filename(name)  # add_files stores under the file's own name
            shutil.copyfile(path, staged)
            (stored,) = add_files(collection, [staged])
        try:
            doc = read(stored)
        except IngestError as exc:
            stored.unlink(missing_ok=True)
            outcome.reports.append(FileReport(path=name, ok=False, error=exc.reason))
            continue
        except Exception as exc:  # noqa: BLE001 — a reader bug on one upload must not stop the batch
            stored.unlink(missing_ok=True)
            outcome.reports.append(FileReport(path=name, ok=False, error=f"unexpected {type(exc).__name__}: {exc}"))
            continue
        report = report_for(doc, stored)
        report.path = stored.relative_to(spec.state_dir).as_posix()
        outcome.reports.append(report)
        outcome.stored.append(stored)
    return outcome


# ------------------------------------------------------------------ live pipelines


@dataclass
class BuildStatus:
    """What the background index work is doing, for the page's status line."""

    collection: str = ""
    phase: str = "idle"  # idle | building | ready | failed
    message: str = ""
    started: float = 0.0
    finished: float = 0.0

    def describe(self) -> str:
        if self.phase == "building":
            return f"{self.message}（{time.time() - self.started:.0f}s）"
        return self.message


class Library:
    """The app's collections: one live `Pipeline` each, swapped only when complete.

    `pipeline(name)` never blocks on a build: it returns the last complete pipeline
    (or None while the first index is still being built). `rebuild` and `first_build`
    hold `build_lock`, so index builds never overlap.
    """

    def __init__(self, opener: Callable[[str], object] | None = None):
        self._pipelines: dict[str, object] = {}
        self._swap_lock = threading.Lock()
        # Opening loads the query model. transformers switches torch's *global* default
        # dtype while it builds a bf16 model, so two loads in parallel threads corrupt
        # each other ("BFloat16 and Float"); opens are therefore serialised (and two
        # sessions asking at once share one open instead of loading twice).
        self._open_lock = threading.Lock()
        self.build_lock = threading.Lock()
        self.status = BuildStatus()
        self._opener = opener or _open_pipeline

    def pipeline(self, collection: str):
        """The live pipeline of a collection (opened on first use), or None without an index."""
        with self._swap_lock:
            live = self._pipelines.get(collection)
        if live is not None:
            return live
        if not has_index(collection):
            return None
        with self._open_lock:  # one open at a time: see `_open_lock` in __init__
            with self._swap_lock:
                live = self._pipelines.get(collection)
            if live is not None:
                return live
            opened = self._opener(collection)
            with self._swap_lock:
                return self._pipelines.setdefault(collection, opened)

    def swap_in(self, collection: str) -> object:
        """Open the freshly built index and make it the live pipeline."""
        with self._open_lock:
            fresh = self._opener(collection)
        with self._swap_lock:
            self._pipelines[collection] = fresh
        return fresh

    def _run_build(self, collection: str, message: str, work: Callable[[], object]):
        with self.build_lock:
            self.status = BuildStatus(collection, "building", message, time.time())
            try:
                report = work()
                self.swap_in(collection)
            except Exception as exc:  # noqa: BLE001 — shown in the page, re-raised for the caller
                self.status = BuildStatus(collection, "failed", f"索引构建失败：{exc}", self.status.started, time.time())
                raise
            self.status = BuildStatus(collection, "ready", f"索引已更新（{collection}）", self.status.started, time.time())
            return report

    def first_build(self, collection: str, *, progress: bool = False):
        """Build a collection's index from scratch and make it live."""
        return self._run_build(collection, f"正在首次构建索引：{collection}",
                               lambda: build_new_index(collection, progress=progress))

    def rebuild(self, collection: str, *, progress: bool = False):
        """Update an existing index after files were added or removed, then swap it in."""
        def work():
            if not has_index(collection):
                return build_new_index(collection, progress=progress)
            return refresh_index(collection, progress=progress)

        return self._run_build(collection, f"正在更新索引：{collection}", work)

    def start_first_build(self, collection: str, *, progress: bool = False) -> threading.Thread:
        """`first_build` in a background thread (the server starts serving meanwhile)."""
        def run():
            try:
                self.first_build(collection, progress=progress)
            except Exception:  # noqa: BLE001 — already recorded in self.status
                pass

        thread = threading.Thread(target=run, name=f"fagui-build-{collection}", daemon=True)
        self.status = BuildStatus(collection, "building", f"正在首次构建索引：{collection}", time.time())
        thread.start()
        return thread


def _open_pipeline(collection: str):
    """Open a pipeline and load the query model now, so the first question after a
    swap is not slowed down by model loading."""
    from assistant.pipeline import Pipeline

    pipeline = Pipeline.open(collection)
    if pipeline.index.dense is not None:
        pipeline.index.search_dense("预热", 1)
    return pipeline
