"""Only files this server received as uploads ever reach a handler (issue 11, F1).

Gradio checks that a file path in an API call was uploaded by a user only when the app
was started with `Blocks.launch()`; mounted in FastAPI (`gr.mount_gradio_app`) that check
returns early (`blocks.has_launched` stays False). A request such as
`POST /gradio_api/call/do_upload` with `{"path": "/etc/passwd", "meta": {...}}` then made
Gradio copy the server file into its cache and pass the copy to our handler. Two pieces
close this, independently of Gradio's internals:

* `UploadInbox` — a folder created by this process under `$FAGUI_HOME/tmp/` that Gradio
  is told to use for its uploads (`GRADIO_TEMP_DIR`), so upload copies stay inside
  FAGUI_HOME (not a shared /tmp) and are deleted as soon as a handler is done with them.
  `accept(path)` is the handler-side check: the path must lie inside the inbox.
* `UploadPathGuard` — ASGI middleware in front of the Gradio API that reads the JSON body
  of every POST and refuses (HTTP 403) any request in which a file object (any object
  with a `path`) names something outside the inbox — a server path, a URL, a traversal —
  before Gradio copies anything. The multipart upload route itself is left alone: that
  is how files legitimately arrive.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterator

MAX_JSON_BODY = 8 * 1024 * 1024  # an API call's JSON; uploads themselves are multipart
UPLOAD_ROUTE_SUFFIX = "/gradio_api/upload"


class UploadRefused(ValueError):
    """A handler was given a path that this server did not receive as an upload."""


class UploadInbox:
    """The folder this process's uploads land in, and the check that a path is one of them."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_inboxes(root)
        self.folder = root / f"uploads-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.folder.mkdir(mode=0o700)
        self._real = self.folder.resolve()

    def contains(self, path: str | os.PathLike) -> bool:
        """True for an existing regular file strictly inside the inbox (symlinks resolved)."""
        text = os.fspath(path)
        if not text or "://" in text:
            return False
        try:
            real = Path(text).resolve(strict=True)
        except (OSError, RuntimeError):
            return False
        return real != self._real and real.is_relative_to(self._real) and real.is_file()

    def accept(self, path: str | os.PathLike) -> Path:
        """The path as a Path if it is an upload this server received; UploadRefused otherwise."""
        if not self.contains(path):
            raise UploadRefused(f"拒绝：{Path(os.fspath(path)).name or path} 不是本服务器收到的上传文件")
        return Path(os.fspath(path)).resolve()

    def discard(self, path: str | os.PathLike) -> None:
        """Delete an upload copy once handled (and its per-upload folder when empty)."""
        if not self.contains(path):
            return
        real = Path(os.fspath(path)).resolve()
        real.unlink(missing_ok=True)
        parent = real.parent
        while parent != self._real and parent.is_relative_to(self._real):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _remove_stale_inboxes(root: Path) -> None:
    """Inboxes of processes that no longer run (killed servers) are removed."""
    for folder in root.glob("uploads-*-*"):
        try:
            pid = int(folder.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def file_paths(data: Any) -> Iterator[Any]:
    """Every `path` value of every object in a decoded JSON request, at any depth.

    Deliberately broader than Gradio's own test for a file object (which also wants
    `meta._type == "gradio.FileData"`): an object without that marker is still validated
    into a FileData by the component, so every `path` counts.
    """
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "path" in item:
                yield item["path"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class UploadPathGuard:
    """ASGI middleware: refuse API calls whose file objects are not uploads in the inbox."""

    def __init__(self, app, inbox: UploadInbox, prefix: str = "/gradio_api/"):
        self.app = app
        self.inbox = inbox
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if (scope["type"] != "http" or scope.get("method") != "POST" or self.prefix not in path
                or path.endswith(UPLOAD_ROUTE_SUFFIX)):
            await self.app(scope, receive, send)
            return
        body, too_big = await _read_body(receive, MAX_JSON_BODY)
        if too_big:
            await _refuse(send, 413, "request body too large")
            return
        problem = self.problem(body)
        if problem:
            await _refuse(send, 403, problem)
            return
        await self.app(scope, _replay(body, receive), send)

    def problem(self, body: bytes) -> str:
        """Why a request body must be refused, or '' when it may pass."""
        if not body.strip():
            return ""
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return ""  # not JSON: no file object can be named (Gradio will reject it)
        for value in file_paths(data):
            if not isinstance(value, str) or not self.inbox.contains(value):
                return f"file path not received as an upload by this server: {str(value)[:200]}"
        return ""


async def _read_body(receive, limit: int) -> tuple[bytes, bool]:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks), False


def _replay(body: bytes, receive):
    """The body already read, then the client's own messages (so a disconnect is real)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send, status: int, message: str) -> None:
    payload = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8")]})
    await send({"type": "http.response.body", "body": payload})
