"""Shared fixtures: real collections parsed or indexed once, in temporary FAGUI_HOMEs."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from corpus.catalog import add_files, load_collection
from corpus.records import Document

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def default_documents(tmp_path_factory) -> list[Document]:
    """The parsed `default` collection, once per test session (read-only for tests)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAGUI_HOME", str(tmp_path_factory.mktemp("fagui-home-default")))
        return load_collection("default").documents


@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory):
    """A factory: `indexed_home(collection, laws)` copies real LawRefBook files (paths under
    data/lawrefbook) into a user collection of a fresh FAGUI_HOME, builds its index with
    the real model through `fagui index`, and keeps FAGUI_HOME set for the module."""
    from assistant.cli import main

    patch = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("home")
    patch.setenv("FAGUI_HOME", str(home))
    patch.setenv("CI", "true")

    def build(collection: str, laws: list[str]) -> Path:
        add_files(collection, [REPO / "data/lawrefbook" / rel for rel in laws])
        assert main(["index", "--collection", collection, "--quiet"]) == 0
        return home

    yield build
    patch.undo()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server():
    """A factory: `live_server(AppConfig(...), **create_app_options)` runs the real app
    (uvicorn in a thread, loopback, a free port) for the module and returns its URL."""
    from assistant.app import ServerThread, create_app

    running = []

    def start(config, **options) -> str:
        running.append(ServerThread(create_app(config, **options), port=free_port()).start())
        return running[-1].url

    yield start
    for server in running:
        server.stop()
