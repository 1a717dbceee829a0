"""The contract between the answer pipeline and its consumers (CLI, app, evaluation).

Evaluation must run the real `ask` pipeline, not a copy, so it is written against this
protocol; `assistant.pipeline.Pipeline` implements it.
"""
from __future__ import annotations

from typing import Protocol

from assistant.records import Answer

#: The retrieval modes, the default first (the order the app offers them in). The one
#: list: the pipeline, the CLI's `--mode`, the app and the evaluation all read it here.
MODES = ("hybrid", "bm25", "dense")
DEFAULT_MODE = MODES[0]


class AnswerPipeline(Protocol):
    collection: str

    def ask(self, question: str, *, mode: str = "hybrid", k: int = 10, filters: dict | None = None) -> Answer:
        """Answer one question: ranked evidence (`Answer.hits`, best first) plus analysis."""
        ...

    def resolve(self, law: str, article: str) -> str | None:
        """unit_id of (law title, `第X条`) in the collection's current version, or None."""
        ...

    def fingerprint(self) -> dict:
        """Model fingerprint, collection hash, index settings — recorded with results."""
        ...
