"""Record types of the index layer: units → passages → (index) → hits.

A `Passage` is what gets indexed: one window of a unit's text plus the context line
(title, heading path, article number) that is embedded and BM25-indexed with it.
Long units are split into several overlapping windows that all carry the same
`unit_id`, so every retriever can report unit-level hits (score = best window).
`Hit` is what every retriever returns, so fusion and the answer layer never need to
know which retriever produced it. Everything round-trips through JSON; nothing is
pickled.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from corpus.records import known_fields


@dataclass(frozen=True)
class Passage:
    """One indexed window of a unit.

    `passage_id` is `<unit_id>#<window>`; `window`/`n_windows` say which part of the
    unit this is; `char_start`/`char_end` locate `text` inside the unit's text.
    `context` is the header line embedded together with the text.
    """

    passage_id: str
    unit_id: str
    doc_id: str
    text: str
    context: str
    window: int = 0
    n_windows: int = 1
    char_start: int = 0
    char_end: int = 0
    title: str = ""
    number: str = ""
    kind: str = ""

    @property
    def indexed_text(self) -> str:
        """Exactly what is embedded and tokenised: the context line, then the window."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Passage":
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class Hit:
    """One unit-level search result.

    `passage_id` names the best-scoring window of the unit; `rank` is 1-based;
    `retriever` is `bm25`, `dense` or the name of a fusion.
    """

    passage_id: str
    unit_id: str
    doc_id: str
    score: float
    rank: int
    retriever: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BuildReport:
    """What a build or update did, for `fagui index` output (text or JSON).

    `embedded` counts passages whose text was sent through the model; `cached`
    those whose vectors came from the embedding cache. `seconds` maps stage → time.
    """

    index_dir: str
    documents: int = 0
    units: int = 0
    passages: int = 0
    embedded: int = 0
    cached: int = 0
    added_documents: int = 0
    replaced_documents: int = 0
    removed_documents: int = 0
    faiss_kind: str = ""
    model: str = ""
    precision: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
