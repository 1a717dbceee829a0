"""Index and document management shared by the CLI (`fagui ingest/remove`) and the app.

The app answers from one loaded `Pipeline` per collection while uploads are parsed and
the index is rebuilt next to it: `build_index` writes a new directory and swaps it in
atomically, and only then is a new `Pipeline` opened and swapped in under a lock. So a
query never sees a half-built index, and builds of one process are serialised by a
single build lock (two users uploading at once queue instead of racing).

BM25 first. The app's builds swap in the BM25 part of an index as soon as it exists
(seconds) and embed its vectors afterwards in one background worker (`start_vectors`;
the embedding itself runs in a child process, `indexer.embed_worker`, so its memory
never stays in the server), which swaps the complete index in when done, so hybrid retrieval switches on without
a restart. Until then questions are answered by BM25 and the answer says so. The worker
holds the build lock too, but yields it to a waiting build (an upload): it stops after
its current batch (the vectors so far are cached) and resumes after that build.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from assistant.pipeline import Pipeline, default_index_dir
from corpus.catalog import (ParseCache, add_files, cached_reader, load_collection, load_spec, parser_fingerprint,
                            report_joined_statuses,
                            sanitize_filename)
from corpus.config import fagui_home
from corpus.errors import UsageError
from corpus.ingest import report_for, sniff_format
from corpus.records import FileReport, IngestError
from indexer import embed_worker
from indexer.models import model_name, resolve_model_path, weights_fingerprint
from indexer.store import IndexConfig, IndexStoreError, build_index, dense_state, read_manifest

DEFAULT_MAX_UPLOAD_MB = 50
#: The status line of a background build (the app shows it), one per kind of build.
FIRST_BUILD_MESSAGE = "正在首次构建索引：{}"
MODEL_REBUILD_MESSAGE = "嵌入模型已更换，正在重建索引：{}"
#: The "MB" of the upload limit everywhere it is stated: the form's label, the refusal
#: and Gradio's own check (`max_file_size`, whose toast divides by 1024² as well).
MIB = 1024 * 1024


def upload_limit_bytes(max_mb: float) -> int:
    """The upload limit in bytes for a limit given in MB (`--max-upload-mb`)."""
    return int(max_mb * MIB)


def upload_limit_text(max_bytes: int) -> str:
    """The limit as every message states it: `50 MB` (one spelling, one unit)."""
    return f"{max_bytes / MIB:g} MB"

#: Extension → formats `corpus.ingest.sniff_format` may find in such a file. A file is
#: accepted only when its content agrees with its name (an HTML page named .pdf is not).
UPLOAD_FORMATS = {
    ".pdf": {"pdf"},
    ".docx": {"docx"},
    ".txt": {"text", "markdown"},
    ".md": {"markdown", "text"},
    ".markdown": {"markdown", "text"},
}


def refresh_index(collection: str, *, progress: bool = False, vectors_later: bool = False):
    """Bring an existing index up to date with its collection; None if it has no index.

    The build re-tokenises (cheap) but takes every vector whose text is unchanged from
    the embedding cache, so only new or changed text is embedded; the swap is atomic.
    `vectors_later` swaps in the BM25 part only (`embed_vectors` completes it).
    """
    index_dir = default_index_dir(collection)
    if not (index_dir / "manifest.json").exists():
        return None
    config = IndexConfig.from_dict(read_manifest(index_dir).get("config", {}))
    documents = load_collection(collection, progress=progress).documents
    return build_index(documents, index_dir, config, progress=progress, vectors_later=vectors_later)


def build_new_index(collection: str, *, progress: bool = False, config=None, vectors_later: bool = False):
    """Parse a collection and build its index from scratch (first run of `fagui serve`)."""
    result = load_collection(collection, progress=progress)
    if not result.documents:
        raise UsageError(f"collection {collection!r} has no documents")
    return build_index(result.documents, default_index_dir(collection), config or IndexConfig(), progress=progress,
                       vectors_later=vectors_later)


def has_index(collection: str) -> bool:
    return (default_index_dir(collection) / "manifest.json").exists()


def model_change(collection: str) -> str:
    """Why the collection's index must be rebuilt for the configured embedding model, or
    "" when it need not: its vectors were made by other weights than the model it would
    now embed queries with (the default model changed, or FAGUI_MODEL did). An index
    built for an explicit model folder (`fagui index --model`), without vectors, or
    unreadable is left to the usual checks."""
    try:
        manifest = read_manifest(default_index_dir(collection))
    except (IndexStoreError, OSError, ValueError):
        return ""
    built = manifest.get("model") or {}
    config = manifest.get("config") or {}
    if not built.get("weights_sha256") or not config.get("dense", True) or config.get("model_path"):
        return ""
    try:
        model_dir = resolve_model_path(None)
        current = weights_fingerprint(model_dir)
    except OSError:
        return ""  # no model: the build that needs it says so
    if current == built["weights_sha256"]:
        return ""
    return (f"{collection}: the index was embedded with {built.get('name', '?')} (weights sha256 "
            f"{built['weights_sha256'][:12]}…), the embedding model is now {model_name(model_dir)} ({current[:12]}…): "
            "rebuilding it (BM25 at once, vectors in the background; no old vector is reused)")


def index_dense_state(index_dir: Path) -> str | None:
    """`off` / `pending` / `complete` (indexer.store.DENSE_*), None without a readable index."""
    try:
        return dense_state(read_manifest(index_dir))
    except (IndexStoreError, OSError, ValueError):
        return None


# ------------------------------------------------------------------ uploads


def check_upload(path: Path, original_name: str, max_bytes: int) -> str:
    """The format of an uploaded file, or IngestError saying why it is refused.

    Checks size first (cheap), then the name's extension, then the content's magic
    bytes, which must agree with the extension.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(original_name, f"file too large ({size / MIB:.1f} MB; limit {upload_limit_text(max_bytes)})")
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


def add_uploads(collection: str, files: list[tuple[Path, str]], *, max_bytes: int, ocr: bool = True,
                doc_type: str | None = None) -> UploadOutcome:
    """Check, parse and only then store uploaded files `(temporary path, original name)`.

    Each file is parsed from a private staging copy laid out like the collection
    (`files/NAME`), so the parsed document already has its final identity and lands in
    the parse cache under the key the index build will ask for. Only a file that
    parsed is stored, by an atomic rename (`add_files`): a refused upload never
    touches the collection, not even an earlier file of the same name. `doc_type` is the
    user's type for these files (`corpus.catalog.add_files`), instead of the inferred one.
    """
    spec = load_spec(collection)
    cache = ParseCache(fagui_home() / "cache" / "parsed", parser_fingerprint())
    files_folder = spec.user_files_dir.relative_to(spec.state_dir)
    outcome = UploadOutcome()
    for path, name in files:
        try:
            check_upload(path, name, max_bytes)
        except IngestError as exc:
            outcome.reports.append(FileReport(path=name, ok=False, error=exc.reason))
            continue
        with tempfile.TemporaryDirectory(prefix="fagui-upload-") as staging:
            staged = Path(staging) / files_folder / sanitize_filename(name)  # add_files keeps the file's own name
            staged.parent.mkdir(parents=True)
            shutil.copyfile(path, staged)
            try:
                doc = cached_reader(Path(staging), cache, ocr=ocr)(staged)
            except IngestError as exc:
                outcome.reports.append(FileReport(path=name, ok=False, error=exc.reason))
                continue
            except Exception as exc:  # noqa: BLE001 — a reader bug on one upload must not stop the batch
                outcome.reports.append(FileReport(path=name, ok=False, error=f"unexpected {type(exc).__name__}: {exc}"))
                continue
            (stored,) = add_files(collection, [staged], doc_type=doc_type)
        report = report_for(doc, stored)
        report.doc_type = doc_type or report.doc_type
        report.path = stored.relative_to(spec.state_dir).as_posix()
        outcome.reports.append(report)
        outcome.stored.append(stored)
    if outcome.stored:  # the status that matters is among the collection's documents
        report_joined_statuses(collection, list(zip([r for r in outcome.reports if r.ok], outcome.stored)))
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


@dataclass
class VectorStatus:
    """The background embedding of one collection's vectors, for the status line and
    for the note on answers given by BM25 meanwhile."""

    state: str = "pending"  # pending | building | complete | failed
    done: int = 0  # passages with a vector
    total: int = 0
    message: str = ""

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    def describe(self) -> str:
        if self.state == "building":
            return f"语义检索构建中（{self.percent}%，{self.done:,}/{self.total:,} 段），此间以关键词检索作答"
        if self.state == "failed":
            return f"语义检索构建失败：{self.message}；以关键词检索作答"
        if self.state == "complete":
            return "语义检索已就绪（混合检索）"
        return "语义检索等待构建，此间以关键词检索作答"

    def fallback_note(self) -> str:
        """What an answer given by BM25 meanwhile says about it."""
        if self.state == "building":
            return f"语义检索构建中（{self.percent}%），本次为关键词检索"
        if self.state == "failed":
            return f"语义检索构建失败（{self.message}），本次为关键词检索"
        return "语义检索尚未构建，本次为关键词检索"


class VectorsInterrupted(Exception):
    """The vector worker stops for a build waiting on the build lock (it resumes later)."""


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
        self.status = BuildStatus()  # the latest build of any collection
        self._statuses: dict[str, BuildStatus] = {}  # the latest build of each collection
        self._opener = opener or _open_pipeline
        # Background vectors (BM25-first builds): one worker, a queue of collections.
        self.vectors: dict[str, VectorStatus] = {}
        self._vector_guard = threading.Lock()  # queue, worker, waiting-build count
        self._vector_queue: list[str] = []
        self._vector_worker: threading.Thread | None = None
        self._vector_progress = False
        self._builds_waiting = 0

    def _set_status(self, status: BuildStatus) -> None:
        self.status = status
        self._statuses[status.collection] = status

    def status_of(self, collection: str) -> BuildStatus:
        """The latest build of this collection (idle if none): a failure of one collection
        is not news on another collection's status line."""
        return self._statuses.get(collection, BuildStatus(collection))

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
        """Run a build under the build lock (the vector worker yields it), swap the new
        index in, then let the worker embed its vectors."""
        with self._vector_guard:
            self._builds_waiting += 1
        try:
            self.build_lock.acquire()
        finally:
            with self._vector_guard:
                self._builds_waiting -= 1
        try:
            self._set_status(BuildStatus(collection, "building", message, time.time()))
            try:
                report = work()
                self.swap_in(collection)
            except Exception as exc:  # noqa: BLE001 — shown in the page, re-raised for the caller
                self._set_status(BuildStatus(collection, "failed", f"索引构建失败：{exc}", self.status.started, time.time()))
                raise
            self._set_status(BuildStatus(collection, "ready", f"索引已更新（{collection}）", self.status.started, time.time()))
        finally:
            self.build_lock.release()
        self.start_vectors(collection, progress=self._vector_progress)
        return report

    def first_build(self, collection: str, *, progress: bool = False):
        """Build a collection's BM25 index from scratch and make it live; its vectors
        follow in the background (`start_vectors`)."""
        self._vector_progress = progress
        return self._run_build(collection, FIRST_BUILD_MESSAGE.format(collection),
                               lambda: build_new_index(collection, progress=progress, vectors_later=True))

    def model_rebuild(self, collection: str, *, progress: bool = False):
        """Rebuild an index whose vectors another model made (`model_change`): BM25 is
        swapped in first, the new model's vectors follow (none reused: the embedding
        cache is keyed by model)."""
        self._vector_progress = progress
        return self._run_build(collection, MODEL_REBUILD_MESSAGE.format(collection),
                               lambda: refresh_index(collection, progress=progress, vectors_later=True))

    def rebuild(self, collection: str, *, progress: bool = False):
        """Update an existing index after files were added or removed and swap it in:
        new documents are searchable by BM25 at once, their vectors follow."""
        def work():
            if not has_index(collection):
                return build_new_index(collection, progress=progress, vectors_later=True)
            return refresh_index(collection, progress=progress, vectors_later=True)

        return self._run_build(collection, f"正在更新索引：{collection}", work)

    # -- background vectors ------------------------------------------------------------

    def vector_status(self, collection: str) -> VectorStatus:
        """The worker's status of a collection, or what its index says when the worker
        has not seen it (complete, or pending: vectors of an interrupted run)."""
        known = self.vectors.get(collection)
        if known is not None:
            return known
        state = index_dense_state(default_index_dir(collection))
        return VectorStatus(state="pending" if state == "pending" else "complete")

    def start_vectors(self, collection: str, *, progress: bool = False) -> None:
        """Queue the embedding of a collection's vectors (if its index is BM25-first)."""
        if index_dense_state(default_index_dir(collection)) != "pending":
            return
        with self._vector_guard:
            self._vector_progress = progress
            if self.vectors.get(collection, VectorStatus()).state in ("complete", "failed"):
                self.vectors[collection] = VectorStatus()  # a new BM25-first index: its vectors are to come
            self.vectors.setdefault(collection, VectorStatus())
            if collection not in self._vector_queue:
                self._vector_queue.append(collection)
            if self._vector_worker is None:
                self._vector_worker = threading.Thread(target=self._vector_loop, name="fagui-vectors", daemon=True)
                self._vector_worker.start()

    def wait_for_vectors(self, timeout: float | None = None) -> bool:
        """Block until the worker has nothing left to do (tests, `fagui bench`); True if idle."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._vector_guard:
                worker = self._vector_worker
            if worker is None:
                return True
            worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if deadline is not None and time.monotonic() >= deadline and worker.is_alive():
                return False

    def _vector_loop(self) -> None:
        while True:
            with self._vector_guard:
                if not self._vector_queue:
                    self._vector_worker = None
                    return
                collection = self._vector_queue.pop(0)
            while self._builds_waiting:  # a waiting build goes first
                time.sleep(0.05)
            with self.build_lock:
                self._embed(collection)

    def _embed(self, collection: str) -> None:
        """Embed one pending index (under the build lock) and swap it in complete.

        The embedding runs in a child process (`indexer.embed_worker`): the model, the
        token ids and the vectors of a whole collection never enter the server, whose
        RSS stays that of the pipelines it serves."""
        status = self.vectors.setdefault(collection, VectorStatus())
        index_dir = default_index_dir(collection)
        if index_dense_state(index_dir) != "pending":
            status.state = "complete"
            return

        def on_progress(done: int, total: int) -> None:
            status.state, status.done, status.total = "building", done, total
            if self._builds_waiting:
                raise VectorsInterrupted(collection)

        try:
            embed_worker.embed_in_child(index_dir, progress=self._vector_progress, on_progress=on_progress)
            self.swap_in(collection)
        except VectorsInterrupted:
            status.state = "pending"
            with self._vector_guard:
                if collection not in self._vector_queue:
                    self._vector_queue.append(collection)
            return
        except Exception as exc:  # noqa: BLE001 — the worker must survive; the page shows it
            status.state, status.message = "failed", str(exc)
            return
        status.state = "complete"

    def _start_build(self, collection: str, message: str, build: Callable[[], object], name: str) -> threading.Thread:
        """`build` (a method that runs `_run_build` with `message`) in a background thread;
        the server serves meanwhile."""
        def run():
            try:
                build()
            except Exception:  # noqa: BLE001 — already recorded in self.status
                pass

        thread = threading.Thread(target=run, name=f"{name}-{collection}", daemon=True)
        self._set_status(BuildStatus(collection, "building", message, time.time()))
        thread.start()
        return thread

    def start_first_build(self, collection: str, *, progress: bool = False) -> threading.Thread:
        """`first_build` in a background thread (the server starts serving meanwhile)."""
        return self._start_build(collection, FIRST_BUILD_MESSAGE.format(collection),
                                 lambda: self.first_build(collection, progress=progress), "fagui-build")

    def start_model_rebuild(self, collection: str, reason: str, *, progress: bool = False) -> threading.Thread:
        """`model_rebuild` in a background thread, after printing why (`model_change`)."""
        print(reason, file=sys.stderr, flush=True)
        return self._start_build(collection, MODEL_REBUILD_MESSAGE.format(collection),
                                 lambda: self.model_rebuild(collection, progress=progress), "fagui-rebuild")

    def start(self, collection: str, *, progress: bool = False) -> str:
        """What `fagui serve` does first: build a missing index (BM25 first, in the
        background), rebuild one embedded by another model (`model_change`), or resume
        the vectors of a BM25-first one (after a kill or a restart). → `building`,
        `rebuilding` (the reason printed), `vectors` or `ready`."""
        if not has_index(collection):
            self.start_first_build(collection, progress=progress)
            return "building"
        reason = model_change(collection)
        if reason:
            self.start_model_rebuild(collection, reason, progress=progress)
            return "rebuilding"
        self.start_vectors(collection, progress=progress)
        with self._vector_guard:
            return "vectors" if collection in self._vector_queue or self._vector_worker else "ready"


def _open_pipeline(collection: str):
    """Open a pipeline and load the query model now, so the first question after a
    swap is not slowed down by model loading."""
    pipeline = Pipeline.open(collection)
    pipeline.warm_up()
    return pipeline
