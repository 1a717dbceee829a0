"""The app's parts after the split (issue 15): the public views `Pipeline` gives the app
(on a real index), the explicit progress board the status line reads, and a check, read
with `ast`, that the app's modules (and its `Library` of live pipelines) never reach into a
pipeline's index or tables."""
from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from assistant.app import AppConfig, FaguiApp
from assistant.manage import BuildStatus, Library
from corpus.progress import BOARD, progress_bar

REPO = Path(__file__).resolve().parents[1]
APP_MODULES = sorted((REPO / "assistant").glob("app*.py")) + [REPO / "assistant" / n for n in ("llm_answer.py", "manage.py")]


@pytest.fixture(scope="module")
def pipeline(indexed_home):
    from assistant.pipeline import Pipeline

    indexed_home("views", ["行政法/数据安全法(2021-06-10).md"])
    return Pipeline.open("views")


def test_pipeline_views_of_units_documents_and_refs(pipeline):
    docs = pipeline.documents()
    assert [d.title for d in docs] == ["中华人民共和国数据安全法"]
    doc = docs[0]
    article = next(u for u in doc.units if u.number == "第四十五条")
    assert pipeline.unit(article.unit_id) == (doc, article)
    assert pipeline.unit("no-such-unit") is None
    assert pipeline.unit_id_for_ref("中华人民共和国数据安全法第四十五条") == article.unit_id
    assert pipeline.unit_id_for_ref("数据安全法第四十五条") == article.unit_id  # a short title resolves too
    assert pipeline.unit_id_for_ref("中华人民共和国数据安全法第九十九条") is None
    assert pipeline.resolve_ref("数据安全法第四十五条") and not pipeline.resolve_ref("不存在的法第一条")


def test_pipeline_retrieval_views(pipeline):
    assert pipeline.has_vectors and pipeline.best_mode == "hybrid"
    assert pipeline.retrieval_depth(10) == 100 and pipeline.retrieval_depth(50) == 150
    assert "数据" in pipeline.query_tokens("国家机关的数据安全保护义务")
    hits = pipeline.retriever_hits("国家机关不履行数据安全保护义务", 5)
    assert set(hits) == {"bm25", "dense"}
    for ranked in hits.values():
        assert 0 < len(ranked) <= 5 and [h.rank for h in ranked] == list(range(1, len(ranked) + 1))
        assert all(pipeline.unit(h.unit_id) is not None for h in ranked)


def test_progress_board_lists_open_bars_only():
    # Names of its own: other tests' builds may still have bars open on the process-wide board.
    bar = progress_bar(total=5, desc="board-reading", unit="file")
    hidden = progress_bar(total=5, desc="board-hidden", unit="file", disable=True)
    try:
        bar.update(2)
        assert "board-reading: 2/5 40%" in BOARD.lines()
        assert not any(line.startswith("board-hidden") for line in BOARD.lines())
    finally:
        bar.close()
        hidden.close()
    assert not any(line.startswith("board-reading") for line in BOARD.lines())
    with progress_bar(total=None, desc="board-pages", unit="page") as pages:
        pages.update(3)
        assert "board-pages: 3/?" in BOARD.lines()
    assert not any(line.startswith("board-pages") for line in BOARD.lines())


def test_status_line_shows_the_running_bars_of_this_collections_build():
    library = Library()
    app = FaguiApp(AppConfig(collection="busy", progress=False), library)
    library._set_status(BuildStatus("busy", "building", "正在更新索引：busy", time.time()))
    with progress_bar(total=4, desc="embedding", unit="passage") as bar:
        bar.update(1)
        line = app.status_html("busy")
        assert "正在更新索引：busy" in line and "embedding: 1/4 25%" in line
    assert "embedding" not in app.status_html("busy")


def _reaches_into_pipeline(path: Path) -> list[str]:
    """`pipeline.table` / `pipeline.index` (or `._instances`) anywhere in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute):
            continue
        if node.attr in ("table", "index") and isinstance(node.value, ast.Name) and node.value.id == "pipeline":
            found.append(f"{path.name}:{node.lineno} pipeline.{node.attr}")
        if node.attr == "_instances":
            found.append(f"{path.name}:{node.lineno} ._instances")
    return found


def test_app_modules_use_only_the_pipelines_public_views():
    assert len(APP_MODULES) >= 7  # app, app_auth, app_handlers, app_layout, app_routes, llm_answer, manage
    assert [hit for path in APP_MODULES for hit in _reaches_into_pipeline(path)] == []
