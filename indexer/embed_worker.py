"""The vector step of a BM25-first index in a process of its own.

WHY: `fagui serve` answers from a BM25 index while the vectors are embedded. Embedded in
the server process, the model, the token ids of every passage, the vectors and the FAISS
build sat next to the live pipeline for good (the allocator does not give freed memory
back): the server reached 3.6 GB RSS on `default`. In a child process all of that is
returned to the system when the child exits; the server only opens the finished index.

A first short child (`INDEX_DIR --prepare`) only puts the model's ONNX export into the
export cache: on a fresh FAGUI_HOME that export loads torch, which would otherwise stay in
the embedding process for good (0.6 GB). The embedding child is
`python -m indexer.embed_worker INDEX_DIR`: it runs `indexer.store.add_vectors`
(embedding through the index's cache, atomic swap, refusal if the index changed meanwhile)
and reports on stdout, one JSON object per line: `{"done": d, "total": t}` as passages get
vectors, then `{"ok": true, ...}`, or `{"error": "..."}`. It stops after its current batch
(flushing what it embedded to the cache) when its stdin closes — when the parent asks it to
(`embed_in_child`'s `on_progress` raising) or dies, even by kill -9 — and exits with
`EXIT_STOPPED`. The children run at a lower CPU priority (`CHILD_NICENESS`) than the
server they work for. A kill of the child itself is safe too: the index stays BM25-only and the
next run adopts the flushed cache chunks of the killed one.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

from corpus.config import child_environment
from indexer.embedder import resolve_precision
from indexer.models import resolve_model_path
from indexer.onnx_query import cached_export
from indexer.store import DENSE_PENDING, IndexConfig, add_vectors, dense_state, read_manifest

EXIT_STOPPED = 3
#: The first child's flag: only put the model's ONNX export into the cache, then exit.
PREPARE_FLAG = "--prepare"
#: Seconds between `on_progress` calls while the child is silent (loading the model,
#: tokenising), so a caller can stop it then too.
HEARTBEAT_SECONDS = 0.5
#: Seconds a stopped child gets to finish its batch and flush before it is killed.
STOP_GRACE_SECONDS = 60
#: How much the children lower their own CPU priority. WHY: on 2 cores the export and
#: the embedding took a core from the server right when it answered its first questions
#: by BM25; niced, they take only the CPU the server leaves (all of it when idle).
CHILD_NICENESS = 10


class EmbedWorkerError(RuntimeError):
    """The child failed; the message is its error (or its exit status)."""


class _Stopped(Exception):
    """Raised inside the child's progress callback once stdin has closed."""


def embed_in_child(index_dir: Path, *, progress: bool = False,
                   on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Run the vector step of `index_dir` in child processes and wait for them → the final report.

    Two children: the first only makes sure the model's ONNX export is in the export cache
    (a fresh FAGUI_HOME exports it with torch, which would otherwise stay loaded — 0.6 GB —
    next to the embedding), the second embeds. `on_progress(done, total)` is called for
    every progress line and every HEARTBEAT_SECONDS meanwhile; if it raises, the running
    child is told to stop (stdin closed), waited for (it flushes its batch) and the
    exception propagates. The children's stderr is this process's, so with `progress`
    the bar shows in the same terminal."""
    _run_child([str(index_dir), PREPARE_FLAG], on_progress)
    return _run_child([str(index_dir)] + ([] if progress else ["--quiet"]), on_progress)


def _run_child(arguments: list[str], on_progress: Callable[[int, int], None] | None) -> dict:
    """One `python -m indexer.embed_worker ARGUMENTS` (see `embed_in_child`) → its final message."""
    child = subprocess.Popen([sys.executable, "-m", "indexer.embed_worker", *arguments], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=child_environment())
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(child.stdout, lines), name="fagui-embed-reader", daemon=True)
    reader.start()
    done = total = 0
    final: dict = {}
    try:
        while True:
            try:
                line = lines.get(timeout=HEARTBEAT_SECONDS)
            except queue.Empty:
                line = ""
            if line is None:  # stdout closed: the child is exiting
                break
            message = _parse(line)
            if "done" in message:
                done, total = message["done"], message["total"]
            elif message:
                final = message
            if on_progress is not None:
                on_progress(done, total)
    except BaseException:
        _stop(child)
        raise
    child.wait()
    reader.join(5)
    if final.get("error"):
        raise EmbedWorkerError(final["error"])
    if child.returncode != 0 or not final.get("ok"):
        raise EmbedWorkerError(f"the vector process exited with status {child.returncode}")
    return final


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _parse(line: str) -> dict:
    line = line.strip()
    if not line.startswith("{"):
        return {}
    try:
        return json.loads(line)
    except ValueError:
        return {}


def _stop(child: subprocess.Popen) -> None:
    """Close the child's stdin (it stops after its batch), then kill it if it lingers."""
    try:
        child.stdin.close()
    except OSError:
        pass
    try:
        child.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


# ------------------------------------------------------------------ the child


def _watch_stdin(stopped: threading.Event) -> None:
    """Set `stopped` when stdin closes (the parent asked, or died)."""
    try:
        while sys.stdin.readline():
            pass
    finally:
        stopped.set()


def _emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _prepare(index_dir: Path) -> int:
    """Put the ONNX export the embedding will need into the export cache (a no-op when
    it is there, or when the index needs no vectors or no export)."""
    try:
        manifest = read_manifest(index_dir)
        config = IndexConfig.from_dict(manifest.get("config", {}))
        wants_export = config.query_onnx or resolve_precision(config.precision) == "ov-bf16"
        if dense_state(manifest) == DENSE_PENDING and wants_export:
            cached_export(resolve_model_path(config.model_path), config.max_seq_length)
    except Exception as exc:  # noqa: BLE001 — reported to the parent, which shows it on the page
        _emit({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    _emit({"ok": True})
    return 0


def main(argv: list[str]) -> int:
    """The child: embed one pending index, report progress, stop when stdin closes."""
    if not argv or argv[0].startswith("-"):
        print(f"usage: python -m indexer.embed_worker INDEX_DIR [--quiet | {PREPARE_FLAG}]", file=sys.stderr)
        return 2
    os.nice(CHILD_NICENESS)
    stopped = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stopped,), name="fagui-embed-stdin", daemon=True).start()

    def on_progress(done: int, total: int) -> None:
        _emit({"done": done, "total": total})
        if stopped.is_set():
            raise _Stopped

    if PREPARE_FLAG in argv:
        return _prepare(Path(argv[0]))
    try:
        report = add_vectors(Path(argv[0]), progress="--quiet" not in argv, on_progress=on_progress)
    except _Stopped:
        return EXIT_STOPPED
    except Exception as exc:  # noqa: BLE001 — reported to the parent, which shows it on the page
        _emit({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    _emit({"ok": True, "embedded": report.embedded, "cached": report.cached, "passages": report.passages,
           "seconds": report.seconds})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
