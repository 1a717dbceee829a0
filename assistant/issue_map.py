"""The issue map (法律问题图谱): load, validate and match it against a question.

A legal-aid lawyer's first step is to recognise the legal issue behind a story
(国家赔偿? who is the defendant when a company acted for the bureau? 委托处理个人信息?)
and then to go to the provisions that govern that issue. The map is that knowledge as
data (`assistant/data/issue_map.json`: `format`, `issues[]` with id, name, area,
act_kinds, cues {lay, legal}, roles, region and provisions {law, article, role, why,
time_limit}); this module only reads it and scores questions against it.

Scoring (why): one generic word (泄露, 政府, 赔偿) is weak evidence of an issue, two
distinct cues are a story of that issue. So a plain cue is worth `PLAIN_POINTS`, a cue
`a&b` (all parts must occur, in any order: a combination is itself specific) is worth
`COMBINED_POINTS`, and an issue is recognised at `RECOGNISE_AT` points or more. A cue
that lies inside another matched cue of the same issue (`泄露` inside `泄露信息`) is the
same phrase and is not counted twice. The threshold was checked on the even-numbered
questions of the dev sets only (`python -m eval.tune_issue_map`): 3 points was worse
than 2; 1 point was better there (R@10 0.350 → 0.392 on the 89-document default) but
made 54 of 300 STARD questions trigger issues and cost 4.7 points of their BM25 R@10,
so it stays at 2 (what the map's cues are written for).

A local issue (`region` set) needs the place named in the question as well: a 浙江
regulation does not govern a question about 广东. The named place also counts as a cue
(`PLACE_POINTS`) up to the threshold: 安阳 with 回执, 潍坊 with 12345 is a story of that
place's regulation, where one plain cue alone is not; a local issue already at the
threshold keeps its score, so national issues are not pushed down the list (measured on
the probe sets: every held-out set gained or kept its rate, 0.950 → 0.972 on the newest;
no STARD or dev question's issues changed). Residents name the city or the district they
live in (温州, 临沂, 浦东), not the province, so the map's optional top-level
`places` lists, per region, the places inside it (`"浙江省": ["杭州", "宁波", "温州", …]`:
prefecture-level cities of a province, districts of a municipality; names that are also
common words or other places' districts are left out); any of them names the region.
A local issue may also name `companions` (ids of national issues): when its place is
named and one of them is recognised, the local issue is recognised with it (score
`RECOGNISE_AT`, cue `地点&the companion's name`). Why: a place's data, credit or
business-environment regulation governs every story of its subject that happens there,
however the story is told; its own cues only catch the words its authors thought of
(上海市数据条例 for a 上海 story about a 街道 handing residents' health data to a company
that no 上海-data cue mentions).

Synonym families (why): people say the same thing in many words (外包公司 / 软件公司 /
中标的公司 / 运维单位), and a cue written for one wording misses the next question. The
map's optional top-level `families` names such word lists once (`"受托企业": [...]`); a
cue part `@受托企业` matches when any member occurs. So `@受托企业&@个人信息` is one
`&` cue (2 points) covering every pairing, and a family is extended in one place.

Rewrites (why): a few everyday phrases contain a cue word in another sense — `扣了6分`
is a points deduction, not a seizure (扣了); `店关了` is a shop that closed, not a person
detained (关了). The map's optional top-level `rewrites` (`{"pattern": regex, "as":
replacement, "why": …}`, written for the normalised text) say what such a phrase means
(`扣分`, `店停业`) before any cue is matched, so one table, not a cue-by-cue exception,
keeps the other sense out.

The map is loaded once per `Pipeline` (never at import time): `load_issue_map(path)`
validates everything and fails with an `IssueMapError` naming the file and the issue.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.records import IssueProvision, RecognisedIssue
from corpus.numerals import NUMERAL_CHARS, SMALL_NUMERAL_CHARS
from corpus.versions import title_key

FORMAT_VERSION = 1
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "issue_map.json"
#: Roles a provision can play for an issue (ISSUEMAP_SCHEMA.md).
PROVISION_ROLES = ("basis", "duty", "liability", "remedy", "time_limit", "defendant", "burden_of_proof")
CUE_KINDS = ("lay", "legal")
PLAIN_POINTS, COMBINED_POINTS = 1, 2
PLACE_POINTS = PLAIN_POINTS  # a local issue's place, named in the question (module docstring)
RECOGNISE_AT = 2  # points; see module docstring (chosen on the even dev questions)

#: Order of provisions inside an issue when the question asks nothing specific: what
#: makes someone answer (liability, the duty it enforces, the basis) before procedure.
ROLE_PRIORITY = ("liability", "duty", "basis", "defendant", "remedy", "time_limit", "burden_of_proof")
#: Intent (assistant.understanding.INTENT_CUES) → the provision roles that answer it;
#: the roles a question asks about move to the front of each issue's provisions.
INTENT_ROLES: dict[str, tuple[str, ...]] = {
    "liability": ("liability", "duty"),
    "compensation": ("liability", "remedy"),
    "amount": ("remedy",),
    "remedy_route": ("remedy", "time_limit"),
    "deadline": ("time_limit",),
    "defendant": ("defendant",),
    "burden_of_proof": ("burden_of_proof",),
}

#: Vote of the provision at place r inside an issue: score / (1 + POSITION_DECAY · r);
#: a role the question asks about votes ASKED_ROLE_BONUS times as much (see ranked_provisions).
POSITION_DECAY = 0.5
ASKED_ROLE_BONUS = 1.5

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ARTICLE = re.compile(rf"^第[{NUMERAL_CHARS}]+条(?:之[{SMALL_NUMERAL_CHARS}]+)?$")
#: Endings stripped from a place name to get the word a question uses (浙江省 → 浙江).
_PLACE_SUFFIX = re.compile(r"(?:维吾尔自治区|壮族自治区|回族自治区|特别行政区|自治区|自治州|省|市|区|县)$")


class IssueMapError(ValueError):
    """The issue map file is missing, unreadable or breaks the format."""


def normalise(text: str) -> str:
    """Full-width → half-width (NFKC), lower case, no whitespace: how cues and questions compare."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).lower()


def place_word(region: str) -> str:
    """The word a question uses for a region (`浙江省` → `浙江`, `上海市` → `上海`)."""
    region = normalise(region)
    core = _PLACE_SUFFIX.sub("", region)
    return core if len(core) >= 2 else region


@dataclass(frozen=True)
class Cue:
    """One cue as written (`text`) and its parts after normalisation (one part unless `&`);
    `options[i]` are the words that satisfy part i (the part itself, or the members of
    the synonym family `@name` it names)."""

    text: str
    parts: tuple[str, ...]
    options: tuple[tuple[str, ...], ...] = ()
    kind: str = "lay"  # one of CUE_KINDS: a person's words or the law's

    @property
    def points(self) -> int:
        return COMBINED_POINTS if len(self.parts) > 1 else PLAIN_POINTS

    def found_in(self, present: set[str]) -> str:
        """The longest word of a plain cue that occurs (`present`), or "" — for the
        rule that a plain cue inside another matched one is not counted twice."""
        return max((word for word in self.options[0] if word in present), key=len, default="")


@dataclass(frozen=True)
class Rewrite:
    """One entry of the map's `rewrites`: an everyday phrase (`pattern`, on normalised
    text) and what it means (`replacement`, may use the pattern's groups)."""

    pattern: re.Pattern[str]
    replacement: str
    why: str


@dataclass(frozen=True)
class MapIssue:
    """One issue of the map, validated and with its cues normalised."""

    id: str
    name: str
    area: str
    act_kinds: tuple[str, ...]
    cues: tuple[Cue, ...]
    roles: tuple[str, ...]
    region: str
    provisions: tuple[IssueProvision, ...]
    legal_terms: frozenset[str] = frozenset()  # normalised parts of its `legal` cues
    companions: tuple[str, ...] = ()  # a local issue: recognised with any of these (national) issues

    def recognised(self, score: float, cues: tuple[str, ...]) -> RecognisedIssue:
        return RecognisedIssue(
            issue_id=self.id, name=self.name, area=self.area, score=score, cues=cues,
            act_kinds=self.act_kinds, roles=self.roles, region=self.region, provisions=self.provisions,
        )


@dataclass(frozen=True)
class IssueMap:
    """The validated map plus a precompiled fragment list for cheap matching."""

    path: str
    sha256: str
    description: str
    issues: tuple[MapIssue, ...]
    fragments: tuple[str, ...]  # every distinct normalised cue part, longest first
    legal_terms: frozenset[str] = frozenset()  # parts of the `legal` cues: the law's own words
    by_fragment: dict[str, tuple[tuple[int, Cue], ...]] = field(default_factory=dict)  # word → (issue index, cue)
    families: dict[str, tuple[str, ...]] = field(default_factory=dict)  # synonym family name → members
    with_companions: tuple[MapIssue, ...] = ()  # the local issues that name companions (found once, at load)
    # region (as the map writes it) → the words that name it: its own (`place_word`), then
    # the places inside it (`places`); built once at load, for every issue's region
    places: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rewrites: tuple[Rewrite, ...] = ()  # applied in order to the normalised question (module docstring)

    def place_named(self, region: str, text: str) -> str:
        """The word of `text` that names `region` (its own name or a place inside it), or ""
        when the question names no place of that region."""
        for word in self.places.get(region) or (place_word(region),):
            if word in text:
                return word
        return ""

    def rewritten(self, text: str) -> str:
        """`text` (normalised) with every `rewrites` phrase replaced by what it means."""
        for rewrite in self.rewrites:
            text = rewrite.pattern.sub(rewrite.replacement, text)
        return text

    def match(self, question: str, threshold: float = RECOGNISE_AT) -> list[RecognisedIssue]:
        """Issues the question signals (score ≥ threshold), best first, ties by id.

        Cost: one substring test per distinct cue part, then only the cues of the parts
        that occur (`by_fragment`) are looked at.
        """
        text = self.rewritten(normalise(question))
        if not text:
            return []
        present = {fragment for fragment in self.fragments if fragment in text}
        hits: dict[int, dict[str, Cue]] = {}
        for fragment in present:
            for index, cue in self.by_fragment.get(fragment, ()):
                if all(any(word in present for word in options) for options in cue.options):
                    hits.setdefault(index, {})[cue.text] = cue
        out = []
        for index, found in hits.items():
            issue = self.issues[index]
            if issue.region and not self.place_named(issue.region, text):
                continue
            hit = [cue for cue in issue.cues if cue.text in found]  # in the map's order
            plain = {cue.text: cue.found_in(present) for cue in hit if len(cue.parts) == 1}
            counted = [
                cue for cue in hit
                if len(cue.parts) > 1 or not any(plain[cue.text] != other and plain[cue.text] in other
                                                 for other in plain.values())
            ]
            score = float(sum(cue.points for cue in counted))
            if issue.region:  # its place is named (above): one plain cue and the place reach the threshold
                score = max(score, min(score + PLACE_POINTS, float(threshold)))
            if counted and score >= threshold:
                out.append(issue.recognised(score, tuple(cue.text for cue in counted)))
        out += self.local_companions(text, out)
        out.sort(key=lambda r: (-r.score, r.issue_id))
        return out

    def local_companions(self, text: str, recognised: list[RecognisedIssue]) -> list[RecognisedIssue]:
        """Local issues recognised with the issues already recognised (module docstring):
        the place is named in `text` and one of the issue's companions is recognised."""
        names = {issue.issue_id: issue.name for issue in recognised}  # best first, as `match` found them
        out = []
        for issue in self.with_companions:
            if issue.id in names:
                continue
            place = self.place_named(issue.region, text)
            shared = [companion for companion in names if companion in issue.companions]
            if shared and place:
                out.append(issue.recognised(float(RECOGNISE_AT), (f"{place}&{names[shared[0]]}",)))
        return out

    def __len__(self) -> int:
        return len(self.issues)


def cited_laws(issues: Iterable[RecognisedIssue]) -> frozenset[str]:
    """The title keys (`corpus.versions.title_key`) of the laws the `issues`' provisions
    cite: the law-scoped lists of retrieval (`Pipeline.scope_laws`) and the remedy lines'
    order (`assistant.analysis._applicability`) read them."""
    return frozenset(title_key(p.law) for issue in issues for p in issue.provisions)


def ranked_provisions(issues: list[RecognisedIssue], intents: list[str] = ()) -> list[IssueProvision]:
    """The provisions of the recognised issues as one ranked list, by votes.

    Inside an issue its provisions are ordered by role (the roles the question asks
    about first, then `ROLE_PRIORITY`); the provision at place r (0-based) gets the vote
    `issue score / (1 + POSITION_DECAY · r)`, times `ASKED_ROLE_BONUS` when its role is one
    the question asks about. A provision's score is the sum of its votes over the
    recognised issues, so an article that several recognised issues name (国家赔偿法第七条
    for both 告谁 and 国家赔偿) rises above one that a single issue lists late. Ties keep
    the order of first appearance (issues best first). Why votes and these constants:
    on the even dev questions (hybrid, widened default) issue-after-issue order gave
    R@10 0.618 / MRR 0.722, votes 0.620 / 0.801; held-out odd 0.428 / 0.549 → 0.478 / 0.619
    (`python -m eval.tune_issue_map`; decay 1.0 and no bonus were a little worse on odd)."""
    asked = [role for intent in intents for role in INTENT_ROLES.get(intent, ())]
    order = {role: i for i, role in enumerate(dict.fromkeys([*asked, *ROLE_PRIORITY]))}
    votes: dict[str, float] = {}
    first: dict[str, IssueProvision] = {}
    for issue in issues:
        for place, provision in enumerate(sorted(issue.provisions, key=lambda p: order.get(p.role, len(order)))):
            bonus = ASKED_ROLE_BONUS if provision.role in asked else 1.0
            votes[provision.ref] = votes.get(provision.ref, 0.0) + issue.score * bonus / (1 + POSITION_DECAY * place)
            first.setdefault(provision.ref, provision)
    position = {ref: i for i, ref in enumerate(first)}
    return [first[ref] for ref in sorted(votes, key=lambda ref: (-votes[ref], position[ref]))]


# --- loading and validation ------------------------------------------------------------


def _strings(value, where: str, *, allow_empty_list: bool = True) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise IssueMapError(f"{where}: must be a list of non-empty strings")
    if not value and not allow_empty_list:
        raise IssueMapError(f"{where}: must not be empty")
    return tuple(v.strip() for v in value)


def _cue(text: str, where: str, families: dict[str, tuple[str, ...]], kind: str = "lay") -> Cue:
    parts = tuple(normalise(part) for part in text.split("&"))
    if not all(parts):
        raise IssueMapError(f"{where}: cue {text!r} has an empty part")
    options = []
    for part in parts:
        if part.startswith("@"):
            if part[1:] not in families:
                raise IssueMapError(f"{where}: cue {text!r} names the family {part!r}, which `families` does not define")
            options.append(families[part[1:]])
        else:
            options.append((part,))
    return Cue(text=text, parts=parts, options=tuple(options), kind=kind)


def _word_lists(value, path: str, key: str, what: str) -> dict[str, tuple[str, ...]]:
    """An optional top-level object of name → list of words (`families`, `places`), every
    word normalised and at least two characters long: a one-character word would match
    inside almost any question. `what` names the words in error messages."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise IssueMapError(f"{path}: `{key}` must be an object of name → list of {what}s")
    out = {}
    for name, words in value.items():
        members = _strings(words, f"{path}: {key}.{name}", allow_empty_list=False)
        if any(len(normalise(word)) < 2 for word in members):
            raise IssueMapError(f"{path}: {key}.{name}: every {what} needs two characters or more")
        out[normalise(name)] = tuple(dict.fromkeys(normalise(word) for word in members))
    return out


def _rewrites(value, path: str) -> tuple[Rewrite, ...]:
    """The optional top-level `rewrites`, each a valid regex with its replacement and why."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise IssueMapError(f"{path}: `rewrites` must be a list of {{pattern, as, why}} objects")
    out = []
    for number, item in enumerate(value, start=1):
        where = f"{path}: rewrites[{number}]"
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k].strip()
                                                 for k in ("pattern", "as", "why")):
            raise IssueMapError(f"{where}: needs non-empty strings `pattern`, `as` and `why`")
        try:
            pattern = re.compile(item["pattern"])
        except re.error as exc:
            raise IssueMapError(f"{where}: {item['pattern']!r} is not a valid pattern ({exc})") from exc
        out.append(Rewrite(pattern, item["as"], item["why"]))
    return tuple(out)


def _region_words(issues, listed: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """`IssueMap.places`: for every issue's region and every region of `places` (`listed`,
    keyed by normalised name), the words that name it, its own first."""
    regions = dict.fromkeys([*(issue.region for issue in issues if issue.region), *listed])
    return {region: tuple(dict.fromkeys((place_word(region), *listed.get(normalise(region), ()))))
            for region in regions}


def _provision(item, where: str) -> IssueProvision:
    if not isinstance(item, dict):
        raise IssueMapError(f"{where}: must be an object with law, article, role, why")
    law, article, role = item.get("law"), item.get("article"), item.get("role")
    if not isinstance(law, str) or not law.strip():
        raise IssueMapError(f"{where}: `law` must be the document title")
    if not isinstance(article, str) or not _ARTICLE.match(article.strip()):
        raise IssueMapError(f"{where}: `article` {article!r} is not of the form 第X条")
    if role not in PROVISION_ROLES:
        raise IssueMapError(f"{where}: role {role!r} is not one of {', '.join(PROVISION_ROLES)}")
    for key in ("why", "time_limit"):
        if not isinstance(item.get(key, ""), str):
            raise IssueMapError(f"{where}: `{key}` must be a string")
    return IssueProvision(law=law.strip(), article=article.strip(), role=role,
                          why=item.get("why", "").strip(), time_limit=item.get("time_limit", "").strip())


def _issue(item, where: str, families: dict[str, tuple[str, ...]]) -> MapIssue:
    if not isinstance(item, dict):
        raise IssueMapError(f"{where}: must be an object")
    issue_id = item.get("id")
    if not isinstance(issue_id, str) or not _ID.match(issue_id):
        raise IssueMapError(f"{where}: id {issue_id!r} must be kebab-case (a-z, 0-9, -)")
    where = f"{where} ({issue_id})"
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise IssueMapError(f"{where}: `name` must be a non-empty string")
    cues_in = item.get("cues")
    if not isinstance(cues_in, dict) or not set(cues_in) <= set(CUE_KINDS):
        raise IssueMapError(f"{where}: `cues` must be an object with keys {' and '.join(CUE_KINDS)}")
    cues: list[Cue] = []
    legal_terms: set[str] = set()
    for kind in CUE_KINDS:
        for text in _strings(cues_in.get(kind, []), f"{where}: cues.{kind}"):
            cue = _cue(text, f"{where}: cues.{kind}", families, kind)
            if kind == "legal":
                legal_terms.update(word for options in cue.options for word in options)
            if cue.parts not in [c.parts for c in cues]:
                cues.append(cue)
    if not cues:
        raise IssueMapError(f"{where}: no cues")
    provisions_in = item.get("provisions")
    if not isinstance(provisions_in, list) or not provisions_in:
        raise IssueMapError(f"{where}: `provisions` must be a non-empty list")
    region = item.get("region", "")
    if not isinstance(region, str):
        raise IssueMapError(f"{where}: `region` must be a string")
    area = item.get("area", "")
    if not isinstance(area, str):
        raise IssueMapError(f"{where}: `area` must be a string")
    companions = _strings(item.get("companions", []), f"{where}: companions")
    if companions and not region.strip():
        raise IssueMapError(f"{where}: `companions` is for a local issue (one with a `region`)")
    return MapIssue(
        id=issue_id,
        name=name.strip(),
        area=area.strip(),
        act_kinds=_strings(item.get("act_kinds", []), f"{where}: act_kinds"),
        cues=tuple(cues),
        roles=_strings(item.get("roles", []), f"{where}: roles"),
        region=region.strip(),
        provisions=tuple(_provision(p, f"{where}: provision {i}") for i, p in enumerate(provisions_in, start=1)),
        legal_terms=frozenset(legal_terms),
        companions=companions,
    )


def parse_issue_map(data, path: str = "<issue map>", sha256: str = "") -> IssueMap:
    """Validate the decoded JSON of a map; errors name `path` and the issue."""
    if not isinstance(data, dict):
        raise IssueMapError(f"{path}: the top level must be a JSON object")
    if data.get("format") != FORMAT_VERSION:
        raise IssueMapError(f"{path}: format {data.get('format')!r} is not supported (expected {FORMAT_VERSION})")
    issues_in = data.get("issues")
    if not isinstance(issues_in, list):
        raise IssueMapError(f"{path}: `issues` must be a list")
    families = _word_lists(data.get("families"), path, "families", "word")
    issues = tuple(_issue(item, f"{path}: issue {i}", families) for i, item in enumerate(issues_in, start=1))
    seen: set[str] = set()
    for issue in issues:
        if issue.id in seen:
            raise IssueMapError(f"{path}: issue id {issue.id!r} occurs twice")
        seen.add(issue.id)
    national = {issue.id for issue in issues if not issue.region}
    for issue in issues:
        unknown = [companion for companion in issue.companions if companion not in national]
        if unknown:
            raise IssueMapError(f"{path}: issue {issue.id!r}: companion {unknown[0]!r} is not the id of a national issue")
    fragments = sorted({word for issue in issues for cue in issue.cues for options in cue.options for word in options},
                       key=lambda f: (-len(f), f))
    description = data.get("description", "")
    by_fragment: dict[str, list[tuple[int, Cue]]] = {}
    for index, issue in enumerate(issues):
        for cue in issue.cues:
            for word in {word for options in cue.options for word in options}:
                by_fragment.setdefault(word, []).append((index, cue))
    return IssueMap(path=path, sha256=sha256, description=description if isinstance(description, str) else "",
                    issues=issues, fragments=tuple(fragments),
                    legal_terms=frozenset(t for issue in issues for t in issue.legal_terms),
                    by_fragment={part: tuple(cues) for part, cues in by_fragment.items()}, families=families,
                    with_companions=tuple(issue for issue in issues if issue.companions),
                    places=_region_words(issues, _word_lists(data.get("places"), path, "places", "place name")),
                    rewrites=_rewrites(data.get("rewrites"), path))


def load_issue_map(path: str | Path | None = None) -> IssueMap:
    """Read and validate the map file (default: the shipped `assistant/data/issue_map.json`)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IssueMapError(f"{path}: cannot read the issue map ({exc.strerror or exc})") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IssueMapError(f"{path}: not valid UTF-8 JSON ({exc})") from exc
    return parse_issue_map(data, str(path), hashlib.sha256(raw).hexdigest())


def empty_issue_map(reason: str) -> IssueMap:
    """A map with no issues (the map is switched off or not shipped); `path` says why."""
    return IssueMap(path=reason, sha256="", description="", issues=(), fragments=())
