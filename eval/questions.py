"""Annotated evaluation questions: records and the two input formats (JSONL, CSV).

JSONL is the format of `../shared/eval` (`{"id", "question", "gold": [{"law", "article"}],
"kind"?, "liable_parties"?, "remedies"?}`); CSV (`id,question,gold` with gold written as
`law第X条; law第Y条`) exists for people who annotate in a spreadsheet. Both become the
same `Question` records, with article labels canonicalised (`第1条` → `第一条`) so gold
matches the collection however the annotator spelled the number.

Bad input raises `corpus.records.IngestError` naming the file, the line and the problem:
an evaluation on silently mangled gold would report wrong numbers.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.refs import split_ref
from corpus.numerals import canonical_article_label
from corpus.records import IngestError
from corpus.versions import written_title

#: Separators between references in a CSV gold cell (half/full-width semicolon, newline).
_GOLD_SEPARATORS = re.compile(r"[;；\n]+")
_ID_RE = re.compile(r"^\S+$")  # TREC files are whitespace-separated


@dataclass(frozen=True)
class GoldArticle:
    """One gold article: normalised law title and canonical article label."""

    law: str
    article: str

    @property
    def ref(self) -> str:
        return f"{self.law}{self.article}"


@dataclass(frozen=True)
class GoldParty:
    """One expected liable party and the article its liability rests on (`basis` ref)."""

    party: str
    basis: str


@dataclass
class Question:
    id: str
    question: str
    gold: list[GoldArticle]
    kind: str = ""
    liable_parties: list[GoldParty] = field(default_factory=list)
    remedies: list[dict[str, Any]] = field(default_factory=list)


def parse_gold_cell(cell: str) -> list[GoldArticle]:
    """CSV gold cell `law第X条; law第Y条` → GoldArticles. ValueError names a bad reference."""
    gold = []
    for part in _GOLD_SEPARATORS.split(cell):
        part = part.strip()
        if not part:
            continue
        parsed = split_ref(part)
        if parsed is None:
            raise ValueError(f"gold reference {part!r} is not `<law>第X条`")
        gold.append(GoldArticle(*parsed))
    return gold


def _gold_article(item: Any) -> GoldArticle:
    if not isinstance(item, dict) or not isinstance(item.get("law"), str) or not isinstance(item.get("article"), str):
        raise ValueError(f"gold entry must be an object with string `law` and `article`: {item!r}")
    law = written_title(item["law"])
    if not law:
        raise ValueError(f"gold entry has an empty law title: {item!r}")
    try:
        article = canonical_article_label(item["article"])
    except ValueError as exc:
        raise ValueError(f"gold article {item['article']!r} is not an article label") from exc
    return GoldArticle(law, article)


def _gold_party(item: Any) -> GoldParty:
    if not isinstance(item, dict) or not isinstance(item.get("basis"), str):
        raise ValueError(f"liable_parties entry must be an object with a string `basis`: {item!r}")
    return GoldParty(party=str(item.get("party", "")), basis=item["basis"])


def _question_from_dict(obj: Any) -> Question:
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    qid, text = obj.get("id"), obj.get("question")
    if not isinstance(qid, str) or not _ID_RE.match(qid):
        raise ValueError(f"`id` must be a non-empty string without whitespace: {qid!r}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"question {qid}: `question` must be a non-empty string")
    gold = obj.get("gold")
    if not isinstance(gold, list):
        raise ValueError(f"question {qid}: `gold` must be a list")
    kind = obj.get("kind") or ""
    if not isinstance(kind, str):
        raise ValueError(f"question {qid}: `kind` must be a string")
    parties = obj.get("liable_parties") or []
    remedies = obj.get("remedies") or []
    if not isinstance(parties, list) or not isinstance(remedies, list):
        raise ValueError(f"question {qid}: `liable_parties` and `remedies` must be lists")
    return Question(
        id=qid,
        question=text.strip(),
        gold=[_gold_article(g) for g in gold],
        kind=kind,
        liable_parties=[_gold_party(p) for p in parties],
        remedies=list(remedies),
    )


def read_jsonl(path: Path) -> list[Question]:
    questions = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                questions.append(_question_from_dict(json.loads(line)))
            except (ValueError, json.JSONDecodeError) as exc:
                raise IngestError(str(path), f"line {lineno}: {exc}") from exc
    return questions


def read_csv(path: Path) -> list[Question]:
    with path.open(encoding="utf-8-sig", newline="") as fh:  # -sig: spreadsheets write a BOM
        reader = csv.DictReader(fh)
        missing = {"id", "question", "gold"} - set(reader.fieldnames or [])
        if missing:
            raise IngestError(str(path), f"missing column(s): {', '.join(sorted(missing))}")
        questions = []
        for row in reader:
            lineno = reader.line_num
            qid = (row.get("id") or "").strip()
            if not qid and not (row.get("question") or "").strip():
                continue  # blank spreadsheet row
            try:
                gold = parse_gold_cell(row.get("gold") or "")
                questions.append(_question_from_dict({
                    "id": qid,
                    "question": row.get("question") or "",
                    "gold": [{"law": g.law, "article": g.article} for g in gold],
                    "kind": (row.get("kind") or "").strip(),
                }))
            except ValueError as exc:
                raise IngestError(str(path), f"line {lineno}: {exc}") from exc
    return questions


def load_questions(path: str | Path) -> list[Question]:
    """Questions from a `.jsonl` or `.csv` file (chosen by suffix); ids must be unique."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(str(path), "no such file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        questions = read_jsonl(path)
    elif suffix == ".csv":
        questions = read_csv(path)
    else:
        raise IngestError(str(path), f"unknown question file type {suffix!r} (use .jsonl or .csv)")
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise IngestError(str(path), f"duplicate question id {q.id!r}")
        seen.add(q.id)
    if not questions:
        raise IngestError(str(path), "no questions")
    return questions
