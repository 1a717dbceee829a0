"""Chinese word segmentation for BM25: jieba with a legal user dictionary + stopwords.

Documents and queries go through the same `Segmenter`, so a term is either one token
on both sides or split the same way on both sides. The user dictionary is built from
the collection itself (`build_user_dictionary`):

* law titles without the `中华人民共和国` prefix (`个人信息保护法`; the prefix is already a
  jieba word, so a full title splits into prefix + core and matches a query naming the core);
* short names of laws. Rule (documented, deterministic): take the title without the
  `中华人民共和国` prefix; if it ends in `法` and the part before `法` has exactly four
  characters, it reads as two two-character words and the short name is the first
  character of each word + `法` (数据安全法 → 数安法, 网络安全法 → 网安法, 行政诉讼法 → 行诉法,
  国家赔偿法 → 国赔法, 民事诉讼法 → 民诉法, 电子商务法 → 电商法). Longer titles have
  conventional short names that no rule predicts (个保法, 消保法), so they come from the
  curated table `CONVENTIONAL_SHORT_NAMES`. A derived short name that two titles
  share, or that occurs inside another title, is ambiguous and dropped;
* terms defined in the texts (`本法所称X，是指…`, `本条例所称X…`, `（一）X，是指…`);
* party words from a curated list (`PARTY_TERMS`: 个人信息处理者, 关键信息基础设施运营者,
  受托方, …).

Short names are also *aliases*: the segmenter replaces an alias token by the title
core it stands for (个保法 → 个人信息保护法), so a query that says 个保法 matches the title
in the passages' context line.

Each `Segmenter` owns its own `jieba.Tokenizer` (never the global one), so two
indexes with different dictionaries never leak words into each other, and it is
initialised lazily: constructing a Segmenter does no work.
"""
from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import re
import threading
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Iterable

from corpus import config
from corpus.numerals import NUMERAL_CHARS, SMALL_NUMERAL_CHARS

TITLE_PREFIX = "中华人民共和国"

#: Conventional abbreviations that the four-character rule cannot produce.
#: Keys are title cores (title without 中华人民共和国).
CONVENTIONAL_SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "个人信息保护法": ("个保法", "个信法"),
    "消费者权益保护法": ("消保法", "消法"),
    "反不正当竞争法": ("反法",),
    "治安管理处罚法": ("治安处罚法", "治安法"),
    "未成年人保护法": ("未保法",),
    "妇女权益保障法": ("妇女法",),
    "行政复议法": ("复议法",),
    "行政诉讼法": ("行诉法",),
    "行政处罚法": ("行罚法",),
    "行政许可法": ("行许法",),
    "国家赔偿法": ("国赔法",),
    "政府信息公开条例": ("信息公开条例",),
    "刑事诉讼法": ("刑诉法",),
    "民事诉讼法": ("民诉法",),
    "劳动合同法": ("劳合法",),
}

#: Party / actor words that must stay whole (liability questions are about them).
PARTY_TERMS: tuple[str, ...] = (
    "个人信息处理者",
    "关键信息基础设施运营者",
    "关键信息基础设施",
    "网络运营者",
    "网络产品提供者",
    "网络服务提供者",
    "数据处理者",
    "重要数据处理者",
    "受托方",
    "委托方",
    "受托人",
    "委托人",
    "行政机关",
    "行政相对人",
    "赔偿义务机关",
    "复议机关",
    "国家机关",
    "国家机关工作人员",
    "电子商务平台经营者",
    "平台经营者",
    "电子商务经营者",
    "网络交易平台",
    "第三方",
    "服务提供者",
    "个人信息",
    "敏感个人信息",
    "政府数据",
    "政务数据",
    "公共数据",
    "数字政府",
    "政务服务",
    "政府采购",
    "采购人",
    "供应商",
    "监护人",
    "法定代表人",
    "直接负责的主管人员",
    "其他直接责任人员",
)

_DEFINED_TERM = re.compile(
    r"(?:本法|本条例|本规定|本办法|本细则|本解释|本决定|本章|本条)所称(?:的)?"
    r"([\u4e00-\u9fff]{2,14}?)(?:，|,|、|是指|指|包括|，是指)"
)
_ENUMERATED_DEFINITION = re.compile(rf"^（[{SMALL_NUMERAL_CHARS}]+）([\u4e00-\u9fff]{{2,14}})，(?:是指|指)")
_ARTICLE_NUMBER = re.compile(rf"第[{NUMERAL_CHARS}]+条(?:之[{SMALL_NUMERAL_CHARS}]+)?")
_CJK_ONLY = re.compile(r"^[\u4e00-\u9fff]+$")

#: Bumped when the segmentation algorithm changes, so stored indexes are refused.
SEGMENTER_VERSION = 2


def title_core(title: str) -> str:
    """The title without the country prefix: the form people actually type."""
    title = unicodedata.normalize("NFKC", title).strip()
    return title[len(TITLE_PREFIX):] if title.startswith(TITLE_PREFIX) and len(title) > len(TITLE_PREFIX) else title


def derived_short_name(core: str) -> str | None:
    """Apply the four-character rule from the module docstring; None when it does not apply."""
    if not core.endswith("法") or not _CJK_ONLY.match(core):
        return None
    body = core[:-1]
    if len(body) != 4:
        return None
    return body[0] + body[2] + "法"


def defined_terms(text: str) -> list[str]:
    """Terms a text defines (`本法所称X，是指`), the vocabulary its own articles use."""
    terms = [m.group(1) for m in _DEFINED_TERM.finditer(text)]
    for line in text.splitlines():
        match = _ENUMERATED_DEFINITION.match(line.strip())
        if match:
            terms.append(match.group(1))
    return [t for t in terms if _CJK_ONLY.match(t)]


@dataclass
class UserDictionary:
    """Words to keep whole and aliases to map onto their canonical word.

    Stored in the index (`user_dict.json`) so queries are segmented with exactly the
    dictionary the documents were segmented with.
    """

    words: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"words": sorted(set(self.words)), "aliases": dict(sorted(self.aliases.items()))}

    @classmethod
    def from_dict(cls, data: dict) -> "UserDictionary":
        return cls(words=list(data.get("words", [])), aliases=dict(data.get("aliases", {})))

    @property
    def sha256(self) -> str:
        blob = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


def build_user_dictionary(documents: Iterable, extra_words: Iterable[str] = ()) -> UserDictionary:
    """Collect titles, short names, defined terms and party words from the collection.

    Takes `corpus.records.Document`s (anything with `.title` and `.units[*].text`).
    """
    words: set[str] = set(PARTY_TERMS) | {w for w in extra_words if w}
    derived: dict[str, set[str]] = {}
    cores: set[str] = set()
    for doc in documents:
        title = unicodedata.normalize("NFKC", doc.title).strip()
        if not title:
            continue
        core = title_core(title)
        # Only the core: 中华人民共和国 is already a jieba word, so a full title splits
        # into prefix + core and a query naming the core (or its alias) matches it.
        words.add(core)
        cores.add(core)
        short = derived_short_name(core)
        if short:
            derived.setdefault(short, set()).add(core)
        for unit in doc.units:
            if "所称" in unit.text or "是指" in unit.text:
                words.update(defined_terms(unicodedata.normalize("NFKC", unit.text)))
    aliases: dict[str, str] = {}
    for short, targets in derived.items():
        # ambiguous: two titles give it, or it is itself a title, or it occurs inside
        # another title (防治法 in 职业病防治法 is not 防沙治沙法)
        if len(targets) == 1 and short not in cores and not any(short in core for core in cores - targets):
            aliases[short] = next(iter(targets))
    for core, shorts in CONVENTIONAL_SHORT_NAMES.items():
        if core in cores:
            for short in shorts:
                if short != core:
                    aliases[short] = core
    words.update(aliases)
    return UserDictionary(words=sorted(words), aliases=aliases)


@dataclass(frozen=True)
class SegmenterSettings:
    """Everything besides the dictionary that changes which tokens come out.

    `mode`: `search` emits a long word plus the dictionary words inside it
    (个人信息处理者 → 个人信息处理者, 个人, 信息, 处理者…), which lets a query that says
    个人信息 match a passage about 个人信息处理者; `precise` emits only the longest words.
    HMM new-word discovery is off: it invents different "words" for the same
    characters depending on their neighbours, which hurts query/document agreement.
    """

    mode: str = "search"
    hmm: bool = False
    lowercase: bool = True
    version: int = SEGMENTER_VERSION

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SegmenterSettings":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def load_stopwords() -> frozenset[str]:
    """The packaged stopword list (indexer/stopwords.txt)."""
    text = resources.files("indexer").joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


class Segmenter:
    """Text → tokens, identically for documents and queries.

    Steps: NFKC (full-width digits/letters become ASCII), lowercase, keep article
    numbers (`第十条`, `第二十条之一`) as single tokens, jieba with the user dictionary,
    map aliases to canonical words, drop whitespace and stopwords.
    """

    def __init__(
        self,
        dictionary: UserDictionary | None = None,
        settings: SegmenterSettings | None = None,
        stopwords: frozenset[str] | None = None,
    ):
        self.dictionary = dictionary or UserDictionary()
        self.settings = settings or SegmenterSettings()
        if self.settings.mode not in ("search", "precise"):
            raise ValueError(f"unknown segmentation mode {self.settings.mode!r} (use 'search' or 'precise')")
        self._stopwords = stopwords
        self._tokenizer = None
        self._lock = threading.Lock()

    @property
    def stopwords(self) -> frozenset[str]:
        if self._stopwords is None:
            self._stopwords = load_stopwords()
        return self._stopwords

    @property
    def fingerprint(self) -> dict:
        """Recorded in the manifest: a stored index is only valid with the same values."""
        stop_blob = "\n".join(sorted(self.stopwords)).encode("utf-8")
        return {
            **self.settings.to_dict(),
            "dictionary_sha256": self.dictionary.sha256,
            "stopwords_sha256": hashlib.sha256(stop_blob).hexdigest(),
            "dictionary_words": len(self.dictionary.words),
            "aliases": len(self.dictionary.aliases),
        }

    def _jieba(self):
        """Create this segmenter's own jieba.Tokenizer on first use (never the global one)."""
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    # jieba loads its dictionary on first use (~1 s), so only when text is segmented
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    for word in self.dictionary.words:
                        # suggest_freq(tune=False) = the smallest frequency that keeps
                        # the word whole against the default dictionary.
                        word = word.lower() if self.settings.lowercase else word
                        tokenizer.add_word(word, freq=max(tokenizer.suggest_freq(word, tune=False), 3))
                    self._tokenizer = tokenizer
        return self._tokenizer

    def _words(self, text: str) -> list[str]:
        """Precise-mode words (the longest dictionary matches)."""
        return list(self._jieba().cut(text, HMM=self.settings.hmm))

    def _parts(self, word: str) -> list[str]:
        """Dictionary 2- and 3-grams inside a long word, as jieba's cut_for_search adds."""
        freq = self._jieba().FREQ
        parts = []
        for size in (2, 3):
            if len(word) > size:
                parts.extend(word[i : i + size] for i in range(len(word) - size + 1) if freq.get(word[i : i + size]))
        return parts

    def general_frequency(self, word: str) -> tuple[int, int]:
        """(count of `word`, total count) in jieba's general-language dictionary: how common
        a word is in everyday Chinese (0 for words jieba does not know)."""
        tokenizer = self._jieba()
        return int(tokenizer.FREQ.get(word, 0) or 0), int(tokenizer.total)

    def tokenize(self, text: str) -> list[str]:
        """Tokens of one text (document passage or query).

        Aliases are mapped on whole words only, never on the parts that search mode
        adds, so 防治法 inside 职业病防治法 stays a part and is not read as a short name.
        """
        text = unicodedata.normalize("NFKC", text)
        if self.settings.lowercase:
            text = text.lower()
        words: list[str] = []
        position = 0
        for match in _ARTICLE_NUMBER.finditer(text):
            words.extend(self._words(text[position : match.start()]))
            words.append(match.group(0))
            position = match.end()
        words.extend(self._words(text[position:]))
        aliases = self.dictionary.aliases
        stopwords = self.stopwords
        search = self.settings.mode == "search"
        result: list[str] = []
        for word in words:
            word = word.strip()
            if not word or word in stopwords:
                continue
            if word in aliases:
                result.append(aliases[word])
                continue
            if search:
                result.extend(p for p in self._parts(word) if p not in stopwords)
            result.append(word)
        return result

    def tokenize_many(self, texts: Iterable[str], progress: bool = False, desc: str = "tokenising",
                      workers: int | None = None) -> list[list[str]]:
        """Tokens of many texts, with a tqdm bar (count and ETA) when `progress`.

        Segmenting is the slowest step of a BM25 build (jieba in pure Python, ~1 ms a
        passage), and the BM25 index is what a fresh `fagui serve` waits for, so large
        batches are split over `workers` processes (default `tokenize_workers()`); the
        tokens are the same as in one process (same dictionary, settings, stopwords)."""
        from corpus.progress import progress_bar  # tqdm costs ~0.2 s to import: only where a bar is drawn

        texts = list(texts)
        workers = tokenize_workers() if workers is None else workers
        if workers > 1 and len(texts) >= PARALLEL_MIN_TEXTS:
            try:
                return self._tokenize_in_workers(texts, workers, progress, desc)
            except (OSError, BrokenProcessPool):  # no processes here (sandbox, limits): one process
                pass
        return [self.tokenize(t) for t in progress_bar(texts, desc=desc, unit="passage", disable=not progress)]

    def _tokenize_in_workers(self, texts: list[str], workers: int, progress: bool, desc: str) -> list[list[str]]:
        """`tokenize_many` over a pool of forked processes, chunks in order.

        Forked after this segmenter's jieba is loaded, so a worker starts at once with
        the same tokenizer and runs nothing but `tokenize` (no imports, no logging, no
        locks of the parent's other threads). Spawned workers would re-import the
        caller's main script, which hangs a script without a `__main__` guard."""

        from corpus.progress import progress_bar  # tqdm costs ~0.2 s to import: only where a bar is drawn

        global _WORKER_SEGMENTER
        self._jieba()
        chunks = [texts[i : i + PARALLEL_CHUNK] for i in range(0, len(texts), PARALLEL_CHUNK)]
        out: list[list[str]] = []
        with _FORK_LOCK:  # one pool at a time: the worker reads the module-level segmenter
            _WORKER_SEGMENTER = self
            try:
                with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=multiprocessing.get_context("fork")) as pool, \
                        progress_bar(total=len(texts), desc=desc, unit="passage", disable=not progress) as bar:
                    for tokens in pool.map(_tokenize_chunk, chunks):
                        out.extend(tokens)
                        bar.update(len(tokens))
            finally:
                _WORKER_SEGMENTER = None
        return out


#: Bulk tokenising uses worker processes from this many texts on (below, starting them
#: costs more than it saves).
PARALLEL_MIN_TEXTS = 5000
PARALLEL_CHUNK = 1000


def tokenize_workers() -> int:
    """Processes for bulk tokenising: the CPUs this process may run on, or
    FAGUI_TOKENIZE_WORKERS (1 = tokenise in this process only)."""
    configured = config.tokenize_workers()
    if configured is not None:
        return configured
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


#: The segmenter forked workers tokenise with (set only while a pool runs).
_WORKER_SEGMENTER: Segmenter | None = None
_FORK_LOCK = threading.Lock()


def _tokenize_chunk(texts: list[str]) -> list[list[str]]:
    return [_WORKER_SEGMENTER.tokenize(t) for t in texts]
