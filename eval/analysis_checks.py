"""Checks of the responsibility analysis: citation validity, liable-party coverage and
party-row precision.

Citation validity asks whether every article the analysis cites exists in the index —
a cited article that does not resolve is a hallucinated or mangled reference, the worst
failure of a legal assistant. Liable-party coverage asks whether the analysis names the
legal basis of each liable party the annotators expected. Party-row precision asks the
converse: of the party rows the analysis shows, how many rest on an article the
annotators consider governing (a row of noise costs the reader as much as a miss).

Both compare articles by a *key*: the unit id `pipeline.resolve(law, article)` gives,
or `law + canonical article` when it does not resolve, so `第1条` and `第一条` (and any
title alias the resolver accepts) count as the same article.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from assistant.records import Analysis
from assistant.refs import split_ref
from eval.questions import GoldArticle, GoldParty

Resolver = Callable[[str, str], "str | None"]


class CachedResolver:
    """`pipeline.resolve` with memory: the same refs recur across questions and slots."""

    def __init__(self, resolve: Resolver):
        self._resolve = resolve
        self._cache: dict[tuple[str, str], str | None] = {}

    def __call__(self, law: str, article: str) -> str | None:
        key = (law, article)
        if key not in self._cache:
            self._cache[key] = self._resolve(law, article)
        return self._cache[key]


def analysis_refs(analysis: Analysis) -> list[str]:
    """Every article reference of an analysis, in order, without repeats.

    Sources: basis lists of parties, remedies and the four slot lists, and the
    citations (a citation dict gives `law` + `article`, or a `ref` string).
    """
    refs: list[str] = []
    for party in analysis.parties:
        refs.extend(party.basis)
    for remedy in analysis.remedies:
        refs.extend(remedy.basis)
    for slots in (analysis.external, analysis.internal, analysis.individual, analysis.fault_principle):
        for slot in slots:
            refs.extend(slot.basis)
    for citation in analysis.citations:
        if citation.get("law") and citation.get("article"):
            refs.append(f"{citation['law']}{citation['article']}")
        elif citation.get("ref"):
            refs.append(str(citation["ref"]))
        else:
            refs.append(str(citation))  # unreadable citation: reported as non-article
    return list(dict.fromkeys(r.strip() for r in refs if r and r.strip()))


@dataclass
class CitationCheck:
    """Citation validity of one answer. `non_article` refs (policy sections, unreadable
    citations) cannot be checked by `resolve` and are listed, not scored."""

    valid: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    non_article: list[str] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return len(self.valid) + len(self.invalid)

    def to_dict(self) -> dict:
        return {"checked": self.checked, "valid": len(self.valid), "invalid": self.invalid, "non_article": self.non_article}


def check_citations(analysis: Analysis, resolve: Resolver) -> CitationCheck:
    check = CitationCheck()
    for ref in analysis_refs(analysis):
        parsed = split_ref(ref)
        if parsed is None:
            check.non_article.append(ref)
        elif resolve(*parsed) is None:
            check.invalid.append(ref)
        else:
            check.valid.append(ref)
    return check


def article_key(ref: str, resolve: Resolver) -> str:
    """Identity of a cited article: its unit id, else the normalised `law第X条`, else the text."""
    parsed = split_ref(ref)
    if parsed is None:
        return ref.strip()
    unit_id = resolve(*parsed)
    return unit_id if unit_id is not None else "".join(parsed)


@dataclass
class PartyCoverage:
    """Liable-party coverage of one answer: gold parties whose basis the analysis names."""

    covered: list[GoldParty] = field(default_factory=list)
    missing: list[GoldParty] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.covered) + len(self.missing)

    @property
    def share(self) -> float | None:
        return len(self.covered) / self.total if self.total else None

    def to_dict(self) -> dict:
        return {
            "total": self.total,
            "covered": len(self.covered),
            "share": self.share,
            "missing": [{"party": p.party, "basis": p.basis} for p in self.missing],
        }


def party_coverage(gold_parties: Iterable[GoldParty], analysis: Analysis, resolve: Resolver) -> PartyCoverage:
    """Each gold party (one row each, even when two share a basis) is covered when its
    basis article is among the bases of the analysis's parties."""
    bases = {article_key(ref, resolve) for party in analysis.parties for ref in party.basis}
    result = PartyCoverage()
    for gold in gold_parties:
        (result.covered if article_key(gold.basis, resolve) in bases else result.missing).append(gold)
    return result


@dataclass
class PartyPrecision:
    """Party-row precision of one answer: rows whose basis includes a gold article."""

    correct: int = 0
    wrong: list[str] = field(default_factory=list)  # "party (basis; …)" of rows without gold basis

    @property
    def rows(self) -> int:
        return self.correct + len(self.wrong)

    @property
    def share(self) -> float | None:
        return self.correct / self.rows if self.rows else None

    def to_dict(self) -> dict:
        return {"rows": self.rows, "correct": self.correct, "share": self.share, "wrong": self.wrong}


def party_row_precision(gold: Iterable[GoldArticle], analysis: Analysis, resolve: Resolver) -> PartyPrecision:
    """Each party row of the analysis is correct when one of its basis articles is a gold
    article of the question (compared by `article_key`, so 第1条 = 第一条)."""
    gold_keys = {article_key(g.ref, resolve) for g in gold}
    result = PartyPrecision()
    for party in analysis.parties:
        if any(article_key(ref, resolve) in gold_keys for ref in party.basis):
            result.correct += 1
        else:
            result.wrong.append(f"{party.party} ({'; '.join(party.basis)})")
    return result
