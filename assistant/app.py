"""`fagui serve`: the Gradio app over the same `Pipeline` the CLI uses — the entry point
that wires the app's parts together.

One FastAPI application holds three things:

* the Gradio page (ask, article lookup, retrieval details, document management,
  evaluation), mounted at `/` (`assistant.app_layout`);
* `/fagui/source` — the source view of a unit, and `/fagui/page` — a PDF page as PNG
  with the unit's region marked (`assistant.app_routes`).

The parts: `app_handlers` (`FaguiApp`: the handlers, plain Python over the `Library` of
live pipelines), `app_layout` (the Gradio page and its callbacks), `app_routes` (the
source routes), `app_auth` (credentials, bind check, HTTP Basic), `assistant.render` (all
HTML), `assistant.upload_guard` (only this server's own uploads reach a handler).

Safety: everything from documents is escaped (`assistant.render`); the source view is
served with a Content-Security-Policy that forbids scripts; uploads are size-limited,
type-checked by content and stored under sanitised names inside FAGUI_HOME; binding to
anything but localhost requires credentials (HTTP Basic on every route, see
`BasicAuthMiddleware`). Queries are answered from the last complete index while an
upload is indexed (`assistant.manage.Library`).
"""
from __future__ import annotations

import threading
import time

from assistant.app_auth import BasicAuthMiddleware, check_bind, parse_auth
from assistant.app_handlers import AppConfig, FaguiApp
from assistant.app_layout import APP_CSS, build_blocks
from assistant.app_routes import add_source_routes
from assistant.manage import DEFAULT_MAX_UPLOAD_MB, Library
from assistant.upload_guard import UploadInbox, UploadPathGuard
from corpus.config import auth_credentials, fagui_home, set_gradio_temp_dir

__all__ = ["AppConfig", "BasicAuthMiddleware", "FaguiApp", "ServerThread", "check_bind", "create_app", "parse_auth",
           "serve"]


def create_app(config: AppConfig, *, auth: tuple[str, str] | None = None, library: Library | None = None):
    """The FastAPI application: source routes plus the Gradio page at `/`."""
    # the web stack (Gradio takes seconds to import) only for `fagui serve`
    import gradio as gr
    from fastapi import FastAPI

    handlers = FaguiApp(config, library)
    docs = {} if config.api_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    api = FastAPI(title="fagui", **docs)
    add_source_routes(api, handlers)

    home = fagui_home()
    # Gradio reads its upload folder from GRADIO_TEMP_DIR when components and the mounted
    # app are created, so it is set here, before either exists: uploads stay inside
    # FAGUI_HOME, in a folder only this process uses.
    inbox = UploadInbox(home / "tmp")
    set_gradio_temp_dir(inbox.folder)
    blocks = build_blocks(handlers, inbox)
    blocks.queue(default_concurrency_limit=1)
    for sub in ("exports", "eval-runs"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    api = gr.mount_gradio_app(
        api, blocks, path="/", css=APP_CSS, footer_links=[],
        allowed_paths=[str(home / "exports"), str(home / "eval-runs")],
        max_file_size=handlers.max_bytes,  # Gradio's own check: the same limit as the label and refusal
        app_kwargs=dict(docs),  # Gradio's own app serves /openapi.json unless told not to
    )
    api.state.fagui = handlers
    guarded = UploadPathGuard(api, inbox)
    if auth is not None:
        return BasicAuthMiddleware(guarded, *auth)
    return guarded


# ------------------------------------------------------------------ running


class ServerThread:
    """uvicorn in a background thread (tests, and anything embedding the app)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 7860):
        # the web stack only for `fagui serve`
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="fagui-server", daemon=True)
        self.url = f"http://{host}:{port}"

    def start(self, timeout: float = 30.0) -> "ServerThread":
        self.thread.start()
        deadline = time.time() + timeout
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def serve(collection: str = "default", host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
          max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB, progress: bool = True, api_docs: bool = False,
          rerank: bool | None = None) -> None:
    """Start the app; on a fresh machine the collection's index is built first, in the
    background, with bars in the terminal and the status line in the page."""
    # the web stack only for `fagui serve`
    import uvicorn

    credentials = parse_auth(auth if auth is not None else auth_credentials())
    check_bind(host, credentials)
    config = AppConfig(collection=collection, max_upload_mb=max_upload_mb, progress=progress, api_docs=api_docs,
                       rerank=rerank)
    library = Library()
    # The app first: building the page makes Gradio patch tqdm (for its progress bars),
    # and a bar created before that patch fails when it is closed after it.
    app = create_app(config, auth=credentials, library=library)
    started = library.start(collection, progress=progress)
    if started == "building":
        print(f"collection {collection!r} has no index yet: building it now, BM25 first, then the vectors in the "
              "background (the page shows the progress)")
    elif started == "vectors":
        print(f"collection {collection!r}: answering by BM25 while its vectors are embedded in the background")
    print(f"fagui serving collection {collection!r} at http://{host}:{port}" + (" (login required)" if credentials else ""))
    uvicorn.run(app, host=host, port=port, log_level="warning")
