"""Versions of the same instrument: a normalised `law_key`, and current / superseded / duplicate.

The collection holds several versions of many laws (行政复议法 2017 and 2023), and the
same version can arrive twice (the Markdown file and a PDF of it). Retrieval must
search the current text once, so every document gets a status:

* `current` — the latest version in its group;
* `superseded` — an older version (kept for questions about the old law);
* `duplicate` — the same version as another document; `duplicate_of` names the one
  that is searched instead.

An instrument can also end without a newer version of itself: another instrument's
closing article repeals it (浙江省数字经济促进条例第六十二条: 《浙江省信息化促进条例》同时废止;
促进个体工商户发展条例 repeals 个体工商户条例). `apply_repeals` reads those clauses and makes
every older version of the named instrument `superseded`, with `repealed_by` naming the
article that says so — a repealed text is no more searchable, or citable as in force,
than an amended one.

Groups are (law_key, doc_type, region, part): two provinces' 数据条例 have the same
wording after normalisation but are different instruments; 民法典 books (`part`) are
distinct until `corpus.markdown.merge_parts` has merged them.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache
from typing import Iterable

from corpus.numerals import SMALL_NUMERAL_CHARS, article_label, parse_article_label
from corpus.records import Document, Unit

#: Share of identical articles above which two documents of unknown date count as the
#: same version (PDF extraction differs in a few articles; a revision changes many).
SAME_VERSION_THRESHOLD = 0.98

#: What follows a date that says when a version enters into force (`自2019年5月15日起施行`):
#: a version is named by its adoption, amendment or promulgation date — LawRefBook's file
#: names and the Markdown reader's header rule — so a PDF of 政府信息公开条例 (公布 2019-04-03,
#: 施行 2019-05-15) is the Markdown's version, not a newer one.
_IN_FORCE_TAIL = re.compile(r"^\s*(?:起\s*)?(?:正式\s*)?(?:施行|生效)")

_PRC = "中华人民共和国"
#: Bracketed version notes that are not part of the name: (2021修正), (2018年修订), (修改).
_VERSION_NOTE_RE = re.compile(rf"\((?:[0-9]{{4}}\s*年?)?\s*(?:第[{SMALL_NUMERAL_CHARS}]+次)?\s*(?:修正|修订|修改)(?:本|文本)?\)")
_SPACE_RE = re.compile(r"\s+")
_QUOTE_MARKS = str.maketrans({"〈": "<", "〉": ">", "《": "<", "》": ">", "“": '"', "”": '"', "‘": "'", "’": "'"})
_TEXT_NOISE_RE = re.compile(r"[\s\u3000，。；：、,.;:（）()“”\"'《》〈〉<>【】\[\]]")
#: Region values that mean "national" (no region): they group together.
NATIONAL_REGIONS = frozenset({"", "全国", "中国", "中华人民共和国", "national"})


def law_key(title: str) -> str:
    """Normalised title that is equal for all versions of one instrument.

    Full-width forms are folded (NFKC), `中华人民共和国` is dropped everywhere (file names
    and citations omit it inconsistently: 《中华人民共和国民法典》 vs 《民法典》),
    version notes in brackets (`（2021修正）`) and all whitespace are removed, and
    book-title marks are unified (`title_key` removes them). Words that distinguish instruments stay:
    `实施条例`, `（试行）`, `（一）`, `修正案（十一）`, `宪法修正案（2018年）`.
    """
    text = unicodedata.normalize("NFKC", title)
    text = _SPACE_RE.sub("", text)
    text = text.replace(_PRC, "")
    text = _VERSION_NOTE_RE.sub("", text)
    return text.translate(_QUOTE_MARKS)


_BOOK_MARKS = str.maketrans("", "", "<>〈〉")


@lru_cache(maxsize=1 << 16)
def title_key(name: str) -> str:
    """The one comparison key of a law's name: `law_key` without book-title marks, so
    《中华人民共和国数据安全法》, 中华人民共和国数据安全法 and 数据安全法 compare equal.

    Every place that matches a written law name against the collection uses it: the
    lookup catalogue's names, the pipeline's (title, article) table, the verification
    of citations. Cached: opening a collection asks it for the same few thousand titles
    some 130,000 times (0.3 s of every cold start)."""
    return law_key(name).translate(_BOOK_MARKS)


def written_title(text: str) -> str:
    """A law title as written in a citation or a gold file, tidied for storing and
    showing: whitespace removed, outer book-title marks stripped. 中华人民共和国 and
    version notes stay (it is still the title as written); compare with `title_key`."""
    return _SPACE_RE.sub("", text).strip("《》")


def _region(doc: Document) -> str:
    """The document's region as versions group it: "" for every national spelling."""
    return "" if doc.region.strip() in NATIONAL_REGIONS else doc.region.strip()


def _group_key(doc: Document) -> tuple[str, str, str, str]:
    return (doc.law_key or law_key(doc.title), doc.doc_type, _region(doc), doc.part)


def version_group(doc: Document) -> str:
    """The id of the instrument `doc` is a version of: `law_key|doc_type|region|part`.

    The same grouping as `assign_status`, as one stable string (it is the `law_id` of
    `assistant.lookup.LawCatalog`)."""
    return "|".join(_group_key(doc))


def _normalised_text(text: str) -> str:
    return _TEXT_NOISE_RE.sub("", unicodedata.normalize("NFKC", text))


def content_similarity(a: Document, b: Document) -> float:
    """Share of articles (by canonical number) whose text is identical after normalisation.

    Whitespace, punctuation and full-width variants are ignored, since PDF and Markdown
    copies of one version differ exactly there. Documents without articles are
    compared by their 8-character shingles (Jaccard).
    """
    arts_a = {u.number: _normalised_text(u.text) for u in a.articles()}
    arts_b = {u.number: _normalised_text(u.text) for u in b.articles()}
    if arts_a and arts_b:
        same = sum(1 for number, text in arts_a.items() if arts_b.get(number) == text)
        return same / max(len(arts_a), len(arts_b))
    shingles_a = _shingles(a)
    shingles_b = _shingles(b)
    if not shingles_a or not shingles_b:
        return 1.0 if shingles_a == shingles_b else 0.0
    return len(shingles_a & shingles_b) / len(shingles_a | shingles_b)


def _shingles(doc: Document, width: int = 8) -> set[str]:
    text = _normalised_text("".join(u.text for u in doc.units))
    return {text[i : i + width] for i in range(max(len(text) - width + 1, 0))}


def _preference(doc: Document) -> tuple[int, int, str]:
    """Which copy of a version is kept: Markdown first, then dated, then by source path."""
    return (0 if doc.source_format == "markdown" else 1, 0 if doc.version_date else 1, doc.source_path)


def naming_date(dated: Iterable[tuple[str, str]]) -> str:
    """The date that names a version, from (ISO date, the text right after it) pairs of a
    preamble: the latest one not followed by 施行 (`_IN_FORCE_TAIL`), else the latest; ""."""
    dated = [(iso, tail) for iso, tail in dated if iso]
    adopted = [iso for iso, tail in dated if not _IN_FORCE_TAIL.match(tail)]
    dates = adopted or [iso for iso, _ in dated]
    return max(dates) if dates else ""


def _same_version(doc: Document, kept: Document) -> bool:
    """Same date; or a copy in another format (a PDF of a Markdown text) whose articles are
    all identical — its reader may have dated it by another line of its preamble, and
    identical text is one version whatever the dates say (two Markdown files of the same
    text under two dates stay two versions, as LawRefBook lists them); or — a date unknown
    — `SAME_VERSION_THRESHOLD` identical articles."""
    if doc.version_date and kept.version_date:
        return doc.version_date == kept.version_date or (
            doc.source_format != kept.source_format and bool(doc.articles()) and content_similarity(doc, kept) == 1.0)
    return content_similarity(doc, kept) >= SAME_VERSION_THRESHOLD


def assign_status(docs: list[Document]) -> list[Document]:
    """Copies of `docs` (same order) with law_key, status and duplicate_of filled in.

    Within a group, documents are visited in preference order (`_preference`); each is
    a duplicate of the first kept document of the same version (same date, or — when a
    date is unknown — ≥ `SAME_VERSION_THRESHOLD` identical articles), otherwise it is
    kept as a version of its own. Among kept versions the latest date is `current` and
    the others `superseded`; a version of unknown date is `current` only when no
    version in the group has a date (and then only the first by preference), so the
    outcome never depends on input order. Inputs are not modified.
    """
    keyed = [replace(d, law_key=d.law_key or law_key(d.title), warnings=list(d.warnings)) for d in docs]
    groups: dict[tuple[str, str, str, str], list[int]] = {}
    for index, doc in enumerate(keyed):
        groups.setdefault(_group_key(doc), []).append(index)

    for members in groups.values():
        order = sorted(members, key=lambda i: _preference(keyed[i]))
        kept: list[int] = []
        for i in order:
            doc = keyed[i]
            original = next((k for k in kept if _same_version(doc, keyed[k])), None)
            if original is None:
                kept.append(i)
                continue
            doc.status = "duplicate"
            doc.duplicate_of = keyed[original].doc_id
        dated = [k for k in kept if keyed[k].version_date]
        if dated:
            newest = max(dated, key=lambda k: keyed[k].version_date)  # dates are unique among kept
        else:
            newest = kept[0]
        for k in kept:
            doc = keyed[k]
            doc.status = "current" if k == newest else "superseded"
            doc.duplicate_of = ""
            if not doc.version_date and len(kept) > 1:
                doc.warnings.append("version date unknown; ranked below dated versions of the same law")
    return keyed


#: A repeal clause: one or more titles in book-title marks, each perhaps with its document
#: number in brackets (《人民检察院刑事诉讼规则（试行）》（高检发释字〔2012〕2号）), directly
#: followed by (同时)(予以)废止. A title followed by anything else (《X》第十条…废止, 《X》中与
#: 本条例不一致的规定废止) repeals only part of it and is left alone.
_REPEAL_RE = re.compile(
    r"((?:《[^《》]{2,80}》(?:[（(][^（）()《》]{1,40}[）)])?[、，,和及与]?)+)(?:同时|亦|也)?(?:予以)?废止")
_TITLE_IN_MARKS_RE = re.compile(r"《([^《》]{2,80})》")


def repeal_clauses(doc: Document) -> list[tuple[str, str]]:
    """(title named, article label) for every instrument an article of `doc` repeals
    as a whole (`_REPEAL_RE`), in the order written."""
    out = []
    for unit in doc.articles():
        for match in _REPEAL_RE.finditer(unit.text):
            out += [(title, unit.number) for title in _TITLE_IN_MARKS_RE.findall(match.group(1))]
    return out


def apply_repeals(docs: list[Document]) -> list[Document]:
    """Copies of `docs` (statuses assigned, same order) where every instrument another one
    repeals as a whole is `superseded`, `repealed_by` = 《repealing title》第N条.

    A clause counts only when it names another instrument (a law repealing its own
    earlier text is a version, `assign_status`'s business), of the same region, and the
    repealing document is dated later than the version it ends — both dates known: an
    undated text, or one newer than the repeal (人民检察院刑事诉讼规则 2019 against the
    试行 rules of 2012 that repealed its 1999 predecessor), is left as it is.
    """
    out = [replace(d, warnings=list(d.warnings)) for d in docs]
    by_key: dict[tuple[str, str], list[Document]] = {}
    for doc in out:
        if doc.status != "duplicate":
            by_key.setdefault((title_key(doc.title), _region(doc)), []).append(doc)
    for repealer in out:
        if repealer.status == "duplicate" or not repealer.version_date:
            continue
        own, region = title_key(repealer.title), _region(repealer)
        for title, article in repeal_clauses(repealer):
            key = title_key(title)
            if key == own:
                continue
            for doc in by_key.get((key, region), ()):
                if doc.version_date and doc.version_date < repealer.version_date and not doc.repealed_by:
                    doc.status = "superseded"
                    doc.repealed_by = f"《{repealer.title}》{article}"
    return out


def newest_first(docs: Iterable[Document]) -> list[Document]:
    """Versions in reading order: the current one, then newest date first (ISO dates
    sort as text; undated versions last), ties by doc id."""
    by_id = sorted(docs, key=lambda d: d.doc_id)
    by_date = sorted(by_id, key=lambda d: d.version_date, reverse=True)  # stable
    return sorted(by_date, key=lambda d: d.status != "current")


class VersionIndex:
    """Every version of every instrument of a collection, grouped once.

    The one place that answers "which other versions of this law are there, and what
    did article X say in them": the lookup tab (`assistant.lookup`) and the ask
    pipeline's history (`assistant.pipeline`) both read it, so they cannot list
    different history for the same article. Built once per loaded collection (by
    `assistant.lookup.LawCatalog`, which the pipeline and the cross-reference index
    share). Groups are `version_group` ids; duplicates are left out (another copy of
    a version already here); articles are compared by canonical label, so `第1条` in
    a PDF version is the same article as `第一条` in the Markdown one.
    """

    def __init__(self, documents: Iterable[Document]):
        grouped: dict[str, list[Document]] = {}
        for doc in documents:
            if doc.status != "duplicate":
                grouped.setdefault(version_group(doc), []).append(doc)
        #: group id → versions, current first, then newest first (`newest_first`).
        self.groups: dict[str, list[Document]] = {gid: newest_first(grouped[gid]) for gid in sorted(grouped)}
        self._group_of = {doc.doc_id: gid for gid, docs in self.groups.items() for doc in docs}
        self._articles: dict[str, dict[str, Unit]] = {}

    def versions_of(self, doc: Document) -> list[Document]:
        """All versions of `doc`'s instrument, current first ([] for a duplicate)."""
        gid = self._group_of.get(doc.doc_id)
        return self.groups[gid] if gid is not None else []

    def articles_of(self, doc: Document) -> dict[str, Unit]:
        """Canonical label → article unit of one version (the first wins on a repeat)."""
        table = self._articles.get(doc.doc_id)
        if table is None:
            table = {}
            for unit in doc.articles():
                try:
                    label = article_label(*parse_article_label(unit.number))
                except ValueError:
                    continue
                table.setdefault(label, unit)
            self._articles[doc.doc_id] = table
        return table

    def history(self, doc: Document, label: str) -> list[tuple[Document, Unit | None]]:
        """Article `label` (canonical) in the older versions of `doc`'s instrument.

        Older versions are every version except the current one (the group's first)
        and `doc` itself, newest first; each comes with its unit, or None when that
        version has no such article (renumbering revisions drop and move articles).
        """
        versions = self.versions_of(doc)
        return [(old, self.articles_of(old).get(label)) for old in versions[1:] if old.doc_id != doc.doc_id]
