"""Collections: which files make up `default`, `national` or a user's own collection, and
the parsed documents of a collection, cached so unchanged files are never parsed twice.

A shipped collection is a JSON spec in `collections/NAME.json` whose globs are relative
to the repository's `data/` folder (a copy of the shared corpus, so the product works
without ../shared). Files a user adds with `fagui ingest PATH --collection NAME` are
copied under `$FAGUI_HOME/collections/NAME/files/`; removals of shipped files are kept
in `removed.json` next to them. Nothing in `data/` is ever modified.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from corpus.config import data_root, fagui_home, specs_dir
from corpus.errors import UsageError
from corpus.hashing import file_sha256
from corpus.ingest import IngestResult, finalize, ingest_files, read_document
from corpus.records import DOC_TYPES, Document, FileReport


@dataclass(frozen=True)
class TitleRule:
    """Keep a file matched by `glob` only if its title names one of `keywords`.

    Used where a folder holds far more than a collection is about (LawRefBook's 1,900
    local regulations, `DLC/`): the rule, not a hand-picked list of files, decides, so
    the next regulation on the same subject is picked up too. The title is the file
    name without its version date (LawRefBook names each file after the document's
    title: `上海市数据条例(2021-11-25).md`).
    """

    glob: str
    keywords: tuple[str, ...]
    why: str = ""

    def admits(self, path: Path) -> bool:
        return any(word in title_of_file(path) for word in self.keywords)


def title_of_file(path: Path) -> str:
    """`上海市数据条例(2021-11-25).md` → `上海市数据条例` (the LawRefBook naming rule)."""
    return re.sub(r"\(\d{4}-\d{2}-\d{2}\)$", "", path.stem)


@dataclass(frozen=True)
class CollectionSpec:
    """A named set of files: shipped globs plus the user's own additions.

    `select` narrows files of some globs to those whose title matches a `TitleRule`.
    """

    name: str
    description: str
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    select: tuple[TitleRule, ...] = ()

    @property
    def state_dir(self) -> Path:
        return fagui_home() / "collections" / self.name

    @property
    def user_files_dir(self) -> Path:
        return self.state_dir / "files"


NAME_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def check_name(name: str) -> str:
    """Collection names become folder names: keep them to a safe alphabet."""
    if not NAME_PATTERN.match(name):
        raise UsageError(f"invalid collection name {name!r}: use letters, digits, '-' or '_' (max 64)")
    return name


def load_spec(name: str) -> CollectionSpec:
    """Spec of a shipped collection, or an empty user collection if none is shipped."""
    check_name(name)
    path = specs_dir() / f"{name}.json"
    if not path.exists():
        return CollectionSpec(name=name, description="user collection", include=(), exclude=())
    raw = json.loads(path.read_text(encoding="utf-8"))
    return CollectionSpec(
        name=name,
        description=raw.get("description", ""),
        include=tuple(raw.get("include", [])),
        exclude=tuple(raw.get("exclude", [])),
        select=tuple(_title_rule(path, rule) for rule in raw.get("select", [])),
    )


def _title_rule(spec_path: Path, raw: dict) -> TitleRule:
    """A `select` entry of a spec file, checked (a rule without keywords would keep nothing)."""
    keywords = tuple(raw.get("title_keywords", ()))
    if not raw.get("glob") or not keywords or not all(isinstance(k, str) and k for k in keywords):
        raise UsageError(f"{spec_path}: each 'select' rule needs a 'glob' and non-empty 'title_keywords'")
    return TitleRule(glob=raw["glob"], keywords=keywords, why=raw.get("why", ""))


def list_collections() -> list[str]:
    shipped = {p.stem for p in specs_dir().glob("*.json")}
    made = {p.name for p in (fagui_home() / "collections").glob("*") if p.is_dir()}
    return sorted(shipped | made)


def shipped_files(spec: CollectionSpec, root: Path | None = None) -> list[Path]:
    """Files matched by the spec's globs, minus excludes and user removals, sorted."""
    root = root or data_root()
    matched: set[Path] = set()
    for pattern in spec.include:
        matched.update(p for p in root.glob(pattern) if p.is_file())
    removed = set(_read_removed(spec))
    keep = []
    for path in matched:
        rel = path.relative_to(root).as_posix()
        if any(_matches(rel, pattern) for pattern in spec.exclude):
            continue
        if rel in removed:
            continue
        rules = [rule for rule in spec.select if _matches(rel, rule.glob)]
        if rules and not any(rule.admits(path) for rule in rules):
            continue
        keep.append(path)
    return sorted(keep)


def _matches(rel: str, pattern: str) -> bool:
    return Path(rel).match(pattern) or _glob_match(rel, pattern)


def _glob_match(rel: str, pattern: str) -> bool:
    """`**/x` should also match a top-level `x` (Path.match does not do that)."""
    if pattern.startswith("**/"):
        return Path(rel).name == pattern[3:] or Path(rel).match(pattern[3:])
    if pattern.endswith("/**"):
        return rel.startswith(pattern[:-3] + "/")
    return False


def user_files(spec: CollectionSpec) -> list[Path]:
    folder = spec.user_files_dir
    if not folder.exists():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _read_removed(spec: CollectionSpec) -> list[str]:
    path = spec.state_dir / "removed.json"
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def parser_fingerprint() -> str:
    """Hash of the corpus package's source: any change to parsing invalidates the cache."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class ParseCache:
    """One JSON file per (file content, parser version): unchanged files are read once.

    Entries are written to a temporary name and renamed, so a crash never leaves a
    half-written entry that a later run would trust.
    """

    def __init__(self, folder: Path, fingerprint: str):
        self.folder = folder
        self.fingerprint = fingerprint

    def _entry(self, sha: str, source_path: str) -> Path:
        key = hashlib.sha256(f"{sha}|{source_path}|{self.fingerprint}".encode()).hexdigest()[:32]
        return self.folder / key[:2] / f"{key}.json"

    def get(self, sha: str, source_path: str) -> Document | None:
        entry = self._entry(sha, source_path)
        if not entry.exists():
            return None
        try:
            return Document.from_dict(json.loads(entry.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError, KeyError):
            return None  # a corrupt entry is simply re-parsed

    def put(self, sha: str, source_path: str, doc: Document) -> None:
        entry = self._entry(sha, source_path)
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(doc.to_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, entry)


def cached_reader(root: Path, cache: ParseCache | None, *, ocr: bool = True, progress: bool = False):
    """A reader for ingest_files that consults the parse cache first."""

    def read(path: Path) -> Document:
        if cache is None:
            return read_document(path, root, ocr=ocr, progress=progress)
        rel = _relative_to(path, root)
        sha = file_sha256(path)
        hit = cache.get(sha, rel)
        if hit is not None:
            return hit
        doc = read_document(path, root, ocr=ocr, progress=progress)
        doc.extra["file_sha256"] = sha
        cache.put(sha, rel, doc)
        return doc

    return read


def _relative_to(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def load_collection(name: str, *, progress: bool = False, use_cache: bool = True) -> IngestResult:
    """All documents of a collection (shipped + user files), with status assigned.

    Shipped files get source paths relative to `data/`; user files relative to the
    collection's state folder (`files/NAME`), so ids are stable across machines.
    """
    spec = load_spec(name)
    cache = ParseCache(fagui_home() / "cache" / "parsed", parser_fingerprint()) if use_cache else None
    shipped = ingest_files(shipped_files(spec), data_root(), read=cached_reader(data_root(), cache), progress=progress)
    added = ingest_files(
        user_files(spec), spec.state_dir, read=cached_reader(spec.state_dir, cache), progress=progress
    )
    added.documents = apply_declared_types(added.documents, declared_types(spec))
    documents = finalize(shipped.documents + added.documents)
    reports = shipped.reports + added.reports
    set_statuses(reports, documents)
    return IngestResult(documents=documents, reports=reports)


def set_statuses(reports: list[FileReport], documents: list[Document]) -> None:
    """Status is only known after all versions are seen: copy each document's status, type
    and — a duplicate — the source path of the copy searched instead back into its report."""
    by_id = {doc.doc_id: doc for doc in documents}
    for report in reports:
        doc = by_id.get(report.doc_id)
        if doc is not None:
            kept = by_id.get(doc.duplicate_of)
            report.status, report.doc_type, report.repealed_by = doc.status, doc.doc_type, doc.repealed_by
            report.duplicate_of = kept.source_path if kept else doc.duplicate_of


def report_joined_statuses(name: str, stored: list[tuple[FileReport, Path]]) -> None:
    """Give each report of a file `add_files` stored (report, stored path) the status its
    document has among everything the collection holds — a PDF of a law it already has is
    a `duplicate` (with the copy searched instead), an older or repealed text `superseded` — and its id
    there. Parses with the cache, so only new files are read again."""
    by_path = {report.path: report for report in load_collection(name).reports}
    for report, path in stored:
        joined = by_path.get(str(path))
        if joined is not None:
            report.doc_id, report.status, report.duplicate_of = joined.doc_id, joined.status, joined.duplicate_of
            report.repealed_by = joined.repealed_by


# ------------------------------------------------------------------ types set by the user

#: `{source_path: doc_type}` of user files whose type the user set (`fagui ingest
#: --doc-type`, the upload form), next to the files: it survives every re-parse.
DECLARED_TYPES_FILE = "doc_types.json"


def check_doc_type(doc_type: str) -> str:
    """A type from the closed vocabulary, or ValueError naming the allowed ones."""
    if doc_type not in DOC_TYPES:
        raise UsageError(f"unknown document type {doc_type!r}: use one of {', '.join(DOC_TYPES)}")
    return doc_type


def declared_types(spec: CollectionSpec) -> dict[str, str]:
    path = spec.state_dir / DECLARED_TYPES_FILE
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _declare_types(spec: CollectionSpec, stored: list[Path], doc_type: str | None) -> None:
    """Record (or, without a type, forget) the declared type of freshly stored files, so a
    file replaced under the same name does not inherit an old declaration."""
    with _DECLARED_TYPES_LOCK:  # two uploads may store files at once
        _update_declared_types(spec, stored, doc_type)


_DECLARED_TYPES_LOCK = threading.Lock()


def _update_declared_types(spec: CollectionSpec, stored: list[Path], doc_type: str | None) -> None:
    table = declared_types(spec)
    for path in stored:
        rel = path.relative_to(spec.state_dir).as_posix()
        if doc_type:
            table[rel] = doc_type
        else:
            table.pop(rel, None)
    if not table and not (spec.state_dir / DECLARED_TYPES_FILE).exists():
        return
    target = spec.state_dir / DECLARED_TYPES_FILE
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(table, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, target)


def apply_declared_types(documents: list[Document], table: dict[str, str]) -> list[Document]:
    """Documents with the user's declared type in place of the inferred one (said in a warning)."""
    out = []
    for doc in documents:
        declared = table.get(doc.source_path)
        if declared and declared != doc.doc_type:
            doc = replace(doc, doc_type=declared, warnings=[*doc.warnings, f"type set by the user: {declared} (inferred {doc.doc_type})"])
        out.append(doc)
    return out


SAFE_NAME = re.compile(r"[^\w\u4e00-\u9fff（）()《》\-.]+")


#: Longest stored name in UTF-8 bytes: file systems allow 255, and `add_files` writes
#: `.NAME.tmpPID` first. Counted in bytes because a Chinese character takes three.
MAX_NAME_BYTES = 180
_SUFFIX_CHARS = 10  # `.markdown` is the longest suffix a reader takes


def sanitize_filename(name: str) -> str:
    """A file name safe to store: no folders, no dot-files, no odd characters, not too long.

    A long name keeps its suffix (the reader is chosen by it) and gets a short hash of
    the whole name in place of the cut, so two long names that share a prefix stay two
    files. Idempotent: a stored name sanitises to itself.
    """
    base = Path(name.replace("\\", "/")).name
    base = SAFE_NAME.sub("_", base).strip("._") or "document"
    if len(base.encode("utf-8")) <= MAX_NAME_BYTES:
        return base
    suffix = Path(base).suffix if len(Path(base).suffix) <= _SUFFIX_CHARS else ""
    tag = "-" + hashlib.sha256(base.encode("utf-8")).hexdigest()[:10]
    budget = MAX_NAME_BYTES - len((tag + suffix).encode("utf-8"))
    stem = base[: len(base) - len(suffix)].encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return stem + tag + suffix


def add_files(name: str, paths: list[Path], doc_type: str | None = None) -> list[Path]:
    """Copy files into a collection's user folder (never outside it); returns new paths.

    `doc_type` is the user's type for these files (kept in DECLARED_TYPES_FILE)."""
    if doc_type:
        check_doc_type(doc_type)
    spec = load_spec(name)
    folder = spec.user_files_dir
    folder.mkdir(parents=True, exist_ok=True)
    stored = []
    for path in paths:
        target = folder / sanitize_filename(path.name)
        if target.resolve().parent != folder.resolve():
            raise UsageError(f"{path}: refusing to store outside {folder}")
        tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        stored.append(target)
    _declare_types(spec, stored, doc_type)
    return stored


def remove_document(name: str, source_path: str) -> bool:
    """Remove a document from a collection: delete a user file, or mask a shipped one."""
    spec = load_spec(name)
    candidate = spec.user_files_dir / sanitize_filename(Path(source_path).name)
    if candidate.exists() and (source_path.startswith("files/") or "/" not in source_path):
        candidate.unlink()
        return True
    removed = _read_removed(spec)
    if source_path in removed:
        return False
    if not (data_root() / source_path).exists():
        return False
    spec.state_dir.mkdir(parents=True, exist_ok=True)
    path = spec.state_dir / "removed.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(removed + [source_path]), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return True
