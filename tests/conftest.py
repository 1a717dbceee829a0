"""Shared fixtures: real collections parsed or indexed once, in temporary FAGUI_HOMEs."""
from __future__ import annotations

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
