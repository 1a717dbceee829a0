"""Question understanding (识别的法律问题): facts vs asks, intents, issues, legal or not.

A lay question tells a story and then asks several things at once (能找谁赔偿？要我自己
证明吗？最晚什么时候？). Before retrieval we separate the story (`facts`) from the
questions (`asks`), name what is asked (`intents`), recognise the actors, harms and
relations (`assistant.analysis.recognise_scenario`, the one owner of those tables), the
issues of the issue map and their act kinds (案由), and the region named.

`legal` answers one question: does the text have any recognisable legal content? The
principle: legal content shows as (a) an issue of the map, (b) a story with a legal
actor (agency, firm, staff) and a harm or legal relation, or (c) legal vocabulary — and
(c) is scored like the map's cues (`legal_points`, legal at 2 points): a word of the
curated legal vocabulary (the law's own terms) or a word far more typical of the
statutes than of everyday Chinese is 2 points; a word only somewhat typical, or a lay
phrase of `assistant.vocabulary` (those name everyday topics the law covers: 孩子, 房子,
医院), is 1 — so one incidental statute-like or everyday word does not make a legal
question; or (d) a legal ask form (`assistant/data/legal_asks.json`: 可以…吗, 有效吗,
会被抓吗, 什么是, 怎么办, X权) about a subject the statutes talk about far more than
everyday Chinese (`has_legal_ask`: 我可以放弃遗产吗, 邻居加装电梯该怎么办). (d) was added
because 22 of 1,235 STARD questions — real questions in plain words — failed (a)–(c);
with it 3 do, and no question of `eval/data/nonsense.jsonl` passes. Three limits keep
everyday how-to questions out (洗衣机漏水怎么办, 电动车电池能用几年, 孩子发烧要去医院吗):
words count as written, not also through the pieces the search segmenter emits
(`whole_words`); 怎么办 / 怎么处理 count only when the question names someone other than
the asker (`AskForm.needs_party`); and the lay phrases that only say whom or what the
question is about count as one (`assistant.vocabulary.LAY_TOPICS`). Of 70 off-topic
questions written to check this, 24 had passed and 23 got an analysis; now 4 get one, while
the 4,055 real questions of the shared sets and probes keep their verdicts (README,
"Session 14"). A question refused here that names someone other than the asker
(`names_party`) is still searched by the pipeline, its results listed apart, unanalysed.

Legal vocabulary (`LegalVocabulary`) = the general legal words of `LEGAL_WORDS`, the
collection's own legal dictionary (law titles, short names, party terms), the map's
legal cue words (not its lay cues: those are everyday words by design), and — the part
that scales to any collection — every word far more typical of the collection's texts
than of everyday Chinese (keyness: its share of passages divided by its share of
jieba's general-language dictionary, at least 10^`KEYNESS_LOG10`, for words specific
enough to name a subject; 商标, 罚款, 拘留 pass, 天气, 电影, 公司, 可以 do not). Nothing here
lists test sentences.
"""
from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from assistant.analysis import recognise_scenario
from assistant.issue_map import IssueMap, normalise, place_word
from assistant.provisions import ROLE_CITIZEN
from assistant.records import RecognisedIssue, Understanding
from assistant.vocabulary import LAY_TO_LEGAL, LAY_TOPICS
from corpus.numerals import NUMERAL_CHARS
from indexer.segment import Segmenter

#: What is asked → the words that ask it (matched in the ask clauses). A question can
#: have several intents; the order here is the display order.
INTENT_CUES: dict[str, tuple[str, ...]] = {
    "liability": ("责任", "谁负责", "负责任", "担责", "追责", "问责", "谁的错", "怪谁", "算谁的", "谁来管", "处分", "处罚", "判刑",
                  "被罚", "挨罚", "受罚", "罚款", "坐牢", "追究", "背锅"),
    "compensation": ("赔偿", "赔钱", "赔给", "赔我", "谁赔", "索赔", "补偿", "损失", "精神损害"),
    "amount": ("多少钱", "赔多少", "多少", "金额", "数额", "标准", "怎么算", "如何计算", "计算"),
    "remedy_route": ("怎么办", "怎么维权", "如何维权", "维权", "投诉", "举报", "复议", "起诉", "诉讼", "申诉",
                     "救济", "途径", "渠道", "怎么处理", "如何处理", "能做什么", "该做什么", "怎么做", "质疑", "申请",
                     "能撤销", "退回来", "能退吗", "还能退"),
    "deadline": ("最晚", "期限", "时效", "多久", "多长时间", "什么时候", "几天", "几个月", "过期", "来得及", "截止", "时限"),
    "defendant": ("告谁", "被告", "起诉谁", "告哪", "找谁", "向谁", "对谁", "以谁", "谁是"),
    "burden_of_proof": ("证明", "举证", "证据", "谁来证"),
    # an official or a contractor checking their own obligations (display only: the 结论's
    # 各方义务 line; it changes no ranking — duties-first lists cost recall, README)
    "duty": ("要做什么", "应当做什么", "应该做什么", "要做哪些", "需要做什么", "义务", "职责", "要履行", "应尽",
             "要注意什么", "有哪些要求", "什么要求", "走什么程序", "要不要审批", "怎么监督"),
}
#: "handling": how long the other side has (`几天内要给答复`, `提异议多久处理完`, `最晚多少
#: 天内要把钱付清`, `复议决定多久能出来`) — a time word close to what an authority or payer
#: does, asked with a deadline cue. It adds the 结论's 机关办理期限 line (display only, no
#: ranking effect); `最晚什么时候要申请` asks the person's own deadline and is not it.
_TIME_ASKED = r"(?:多久|多长时间|几天|几个月|最晚|期限)"  # 多少天 is read as 几天 first (PERIOD_ASK)
_AUTHORITY_ACTS = (r"(?:答复|回复|处理|办结|办完|出结果|结果|审核|审批|批下来|批复|付|支付|作出|决定|更正|改|删除|撤下|"
                   r"反馈|结案|受理)")
HANDLING_ASK = re.compile(rf"{_TIME_ASKED}[^，。？?！!；;]{{0,8}}?{_AUTHORITY_ACTS}"
                          rf"|{_AUTHORITY_ACTS}[^，。？?！!；;]{{0,6}}?{_TIME_ASKED}")
#: `要判多久` / `会判几年` asks how heavy a sentence is — liability, not a deadline.
SENTENCE_LENGTH_ASK = re.compile(r"(?:判|坐牢|服刑|刑期)(?:了|得|个|会)?(?:多久|几年|多长时间|多少年)")
#: `多少天内` / `多少个工作日` asks a period — a deadline cue (几天), not an amount.
PERIOD_ASK = re.compile(r"多少个?(?:天|日|工作日|月|小时)")
#: `找城管还是找公司` asks whom to turn to, as 找谁 does.
WHICH_PARTY_ASK = re.compile(r"找[^，。？?！!；;]{1,10}?还是")
INTENTS = (*INTENT_CUES, "handling")

#: Words that make a clause a question (besides a final ？/?).
ASK_MARKERS = ("谁", "什么", "怎么", "怎样", "如何", "哪", "吗", "么", "呢", "能否", "可否", "是否", "能不能",
               "可不可以", "要不要", "会不会", "有没有", "多少", "多久", "几", "该")

#: General legal vocabulary: words of the law's own language that chit-chat does not use.
#: The single characters are legal verbs that jieba leaves alone only when they are used
#: as such (要拘五天 → 拘 / 五天, 罚了两百 → 罚, 判了三年 → 判; 判断, 拘束 are words of their own).
LEGAL_WORDS: frozenset[str] = frozenset("""
法 法律 法规 条例 规章 规定 司法解释 条款 条文 法条 违法 合法 非法 违规 违约 侵权 侵犯 侵害 责任 担责 追责 问责
赔 赔偿 补偿 索赔 处罚 罚款 罚单 处分 政务处分 行政 起诉 诉讼 上诉 申诉 复议 仲裁 判决 裁定 法院 检察院 律师
合同 协议 权利 义务 权益 维权 投诉 举报 犯罪 刑事 民事 判刑 拘留 许可 审批 执法 监管 被告 原告 证据 举证 时效
信息公开 隐私 个人信息 泄露 监察 纪律 主管部门 机关 采购 招标 投标 中标 质疑 国家赔偿 行政诉讼 行政复议 告
拘 罚 判 警告 吊销 没收 强制 征收 征用 补助 低保 社保 工伤 劳动 债务 欠款 借款 继承 离婚 抚养 赡养 监护 处理者 受托 委托
授权 公民 当事人 相对人 行政机关 国家机关 工作人员 公务员 失职 渎职 滥用职权 玩忽职守 受贿 贿赂 过错 过失
""".split())

#: Provincial-level regions (a question names its place with or without the suffix).
PROVINCES: tuple[str, ...] = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省", "浙江省",
    "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省", "四川省", "贵州省",
    "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区", "西藏自治区",
    "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)

#: Without an issue or a legal story, a question is legal at `MIN_LEGAL_POINTS` points of
#: legal vocabulary (see `legal_points`), or with one typical word that is at least
#: `MIN_LEGAL_SHARE` of its words (a two- or three-word question).
MIN_LEGAL_POINTS = 2
MIN_LEGAL_SHARE = 1 / 3
#: A word typical of the law: ≥ 10^2 = 100 times more frequent in the collection's passages
#: than in general Chinese, in at least `MIN_DOCUMENT_FREQUENCY` passages (a word seen in
#: two passages is a coincidence) and in at most `MAX_DOCUMENT_SHARE` of them (可以, 要求,
#: 提供 are frequent in statutes but say nothing about a subject: a term is specific).
KEYNESS_LOG10 = 2.0
MIN_DOCUMENT_FREQUENCY = 5
MAX_DOCUMENT_SHARE = 0.05
#: A typical word this much more frequent in the statutes (≥ 10^2.5 ≈ 300×) is a term by itself.
STRONG_KEYNESS_LOG10 = 2.5
#: A topic word of a legal ask (`has_legal_ask`): in the collection at all and ≥ 10^1 = 10 times
#: more frequent there than in general Chinese (遗产, 贷款, 电梯, 作品 pass; 今天, 好吃, 一下 do not).
TOPIC_KEYNESS_LOG10 = 1.0
#: The ask forms of a legal question (许可 / 效力 / 后果 / 概念 / 救济 / 权利), a data file.
LEGAL_ASKS_PATH = Path(__file__).resolve().parent / "data" / "legal_asks.json"
#: Intents for which binding law ranks above policy and scholarship (背景).
BINDING_FIRST_INTENTS = frozenset(INTENTS)

_CLAUSE_SPLIT = re.compile(r"(?<=[。？！?!；;\n])|[，,、：:]")
_QUESTION_END = re.compile(r"[？?]$")
_CONTENT = re.compile(r"[\w\u4e00-\u9fff]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LAY_PATTERNS = tuple(re.compile(pattern) for pattern, _terms in LAY_TO_LEGAL if pattern not in LAY_TOPICS)
_LAY_TOPIC_PATTERNS = tuple(re.compile(pattern) for pattern in sorted(LAY_TOPICS))
#: A person or body written as `X某` / `某X` (张某, 某公司): how legal questions name parties.
#: A numbered part of a statute (一款, 二项, 三条): typical of the texts, not a legal term.
_STRUCTURE_WORD = re.compile(f"^[{NUMERAL_CHARS}]+[编章节条款项目]$")
_PLACEHOLDER = re.compile(r"[\u4e00-\u9fff]某[\u4e00-\u9fff]?|某(?:公司|企业|局|机关|部门|单位|市|县|区)")


@dataclass(frozen=True)
class LegalVocabulary:
    """Which words are legal vocabulary (module docstring): fixed words plus keyness
    against the collection (`document_frequency` over `passages`) and general Chinese
    (`general_frequency` → (count, total)). Place names never count: a question naming
    北京 is not legal for that."""

    lexicon: frozenset[str] = frozenset()
    document_frequency: Callable[[str], int] | None = None
    passages: int = 0
    general_frequency: Callable[[str], tuple[int, int]] | None = None
    places: frozenset[str] = frozenset()

    def keyness(self, word: str) -> float | None:
        """log10 of (share of passages with `word`) / (share of `word` in general Chinese);
        None when the collection statistics are missing or the word is too rare or too
        common in the collection to be a term."""
        if self.document_frequency is None or self.general_frequency is None or not self.passages:
            return None
        df = self.document_frequency(word)
        if df < MIN_DOCUMENT_FREQUENCY or df > MAX_DOCUMENT_SHARE * self.passages:
            return None
        count, total = self.general_frequency(word)
        return math.log10(df / self.passages * max(total, 1) / (count + 1))

    def curated(self, word: str) -> bool:
        """A term of the law's own vocabulary (fixed words, titles, party terms, map cues)."""
        return word in LEGAL_WORDS or word in self.lexicon

    def typical(self, word: str) -> bool:
        """Statistically typical of the collection (keyness), not a place, not digits
        (article numbers make digits typical of statutes; they are not legal words), not a
        single character (报, 条, 项 are typical of statutes as parts of words, not as terms:
        `报个补习班` is not legal; single-character legal words are curated: 赔, 法, 告, 拘, 罚, 判), not
        a numbered part of an article (`第一款` segments as 第 / 一款, so 一款 is typical of
        statutes; `推荐一款洗面奶` is not legal)."""
        if word in self.places or not _CJK.search(word) or len(word) < 2 or _STRUCTURE_WORD.match(word):
            return False
        keyness = self.keyness(word)
        return keyness is not None and keyness >= KEYNESS_LOG10

    def __contains__(self, word: str) -> bool:
        return self.curated(word) or self.typical(word)

    def topical(self, word: str) -> bool:
        """A subject the statutes talk about (遗产, 电梯, 扒窃): a word of two or more
        characters found in the collection at least once and ≥ 10^`TOPIC_KEYNESS_LOG10`
        times more frequent there than in general Chinese. Weaker than `typical` on
        purpose: it only counts together with a legal ask form (`has_legal_ask`)."""
        if len(word) < 2 or word in self.places or not _CJK.search(word) or word in ASK_MARKERS:
            return False
        if self.document_frequency is None or self.general_frequency is None or not self.passages:
            return False
        df = self.document_frequency(word)
        if df < 1 or df > MAX_DOCUMENT_SHARE * self.passages:
            return False
        count, total = self.general_frequency(word)
        return math.log10(df / self.passages * max(total, 1) / (count + 1)) >= TOPIC_KEYNESS_LOG10


def clauses(question: str) -> list[str]:
    """The question cut at sentence ends and commas; each clause keeps its final ？."""
    return [c.strip() for c in _CLAUSE_SPLIT.split(question or "") if c and c.strip(" \t\n。；;")]


def is_ask(clause: str) -> bool:
    """A clause asks something when it ends in ？ or contains an interrogative word."""
    return bool(_QUESTION_END.search(clause)) or any(marker in clause for marker in ASK_MARKERS)


def split_facts_and_asks(question: str) -> tuple[str, list[str]]:
    """(facts, asks): the narrative clauses joined, and the asking clauses in order.

    Asking clauses that follow each other inside one sentence stay separate asks
    (能找谁赔偿，要我自己证明吗 are two asks)."""
    facts, asks = [], []
    for clause in clauses(question):
        (asks if is_ask(clause) else facts).append(clause.rstrip("？?。！!；;"))
    return "，".join(f for f in facts if f), [a for a in asks if a]


def intents_of(asks: Iterable[str], question: str) -> list[str]:
    """Intents named in the asks (in the whole question when nothing reads as an ask)."""
    text = "".join(asks) or question
    text = SENTENCE_LENGTH_ASK.sub("判刑", text)  # 判刑: a liability cue (SENTENCE_LENGTH_ASK)
    text = PERIOD_ASK.sub("几天", text)  # a period, not an amount (PERIOD_ASK)
    if WHICH_PARTY_ASK.search(text):
        text += "找谁"  # 找A还是找B (WHICH_PARTY_ASK)
    found = [intent for intent, cues in INTENT_CUES.items() if any(cue in text for cue in cues)]
    return found + ["handling"] if "deadline" in found and HANDLING_ASK.search(text) else found


def region_of(question: str, regions: Iterable[str] = (), issue_map: IssueMap | None = None) -> str:
    """The first province (or a region of the collection, e.g. a city) the question names;
    failing that, the region of a city or district the issue map's `places` list (温州 →
    浙江省), so a resident who names only their city still has a place."""
    text = normalise(question)
    best: tuple[int, str] | None = None
    for region in (*regions, *PROVINCES):
        word = place_word(region)
        if len(word) < 2:
            continue
        at = text.find(word)
        if at >= 0 and (best is None or at < best[0] or (at == best[0] and len(region) > len(best[1]))):
            best = (at, region)
    if best is None and issue_map is not None:
        for region in issue_map.places:
            named = issue_map.place_named(region, text)
            at = text.find(named) if named else -1
            if at >= 0 and (best is None or at < best[0]):
                best = (at, region)
    return best[1] if best else ""


def content_words(tokens: Iterable[str]) -> list[str]:
    """Tokens that carry content (a letter, digit or CJK character), without repeats."""
    return list(dict.fromkeys(t for t in tokens if _CONTENT.search(t)))


def whole_words(words: list[str]) -> list[str]:
    """The words as the person wrote them: those not inside a longer word of the same list.

    Why: the index's segmenter also emits the pieces of a long word (电动车 → 电动, 动车,
    电动车; 派出所 → 派出, 派出所) so that a search for a piece finds it. Counted as
    vocabulary, the pieces say what the question is not about (动车 is a train, 机电 of
    手机电池 is machinery) and count one word twice. Curated legal terms are still looked
    up among the pieces (法律责任 holds 责任)."""
    return [w for w in words if not any(w != other and w in other for other in words)]


def legal_points(question: str, words: list[str], vocabulary: LegalVocabulary) -> tuple[int, int]:
    """(points, typical words): the question's legal vocabulary scored like the issue map
    scores cues — a curated legal term, a party written as `X某` or a strongly typical
    word (keyness ≥ `STRONG_KEYNESS_LOG10`) is 2 points; a word that is only typical of
    the collection, or a lay phrase of `assistant.vocabulary` (欠钱, 孩子, 医院: everyday
    topics the law covers), is 1 point — the phrases that only say whom or what the question
    is about (`LAY_TOPICS`: 孩子, 医院) are one point together. Typical words are counted as written
    (`whole_words`): 电动车 is one word, not also 动车, 派出所 not also 派出."""
    points = 2 * sum(1 for w in words if vocabulary.curated(w))
    points += sum(1 for pattern in _LAY_PATTERNS if pattern.search(question))
    points += any(pattern.search(question) for pattern in _LAY_TOPIC_PATTERNS)  # whom / what: one point together
    points += 2 * len(_PLACEHOLDER.findall(question))
    typical = 0
    for word in whole_words(words):
        if not vocabulary.curated(word) and vocabulary.typical(word):
            typical += 1
            points += 2 if vocabulary.keyness(word) >= STRONG_KEYNESS_LOG10 else 1
    return points, typical


def has_legal_vocabulary(question: str, words: list[str], vocabulary: LegalVocabulary) -> bool:
    """Legal at `MIN_LEGAL_POINTS` (one term, or two typical words), or with one typical
    word that is a real share of a short question (module doc)."""
    points, typical = legal_points(question, words, vocabulary)
    return points >= MIN_LEGAL_POINTS or (typical >= 1 and typical / max(len(whole_words(words)), 1) >= MIN_LEGAL_SHARE)


@dataclass(frozen=True)
class AskForm:
    """One way people ask a legal question (`assistant/data/legal_asks.json`)."""

    name: str
    pattern: re.Pattern[str]
    why: str
    alone: bool = False  # legal by itself (`X权`: the ask names a right)
    needs_party: bool = False  # counts only when the question names someone else (`AskForms.parties`)


@dataclass(frozen=True)
class AskForms:
    """The ask forms of the data file and its `parties` pattern: the words that name a
    person or body other than the one asking (邻居, 房东, 公司, 被…)."""

    forms: tuple[AskForm, ...]
    parties: re.Pattern[str]

    def __iter__(self):
        return iter(self.forms)


@functools.lru_cache(maxsize=4)
def load_legal_asks(path: Path = LEGAL_ASKS_PATH) -> AskForms:
    """The ask forms of the data file, validated; a bad file raises ValueError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the legal ask forms ({exc})") from exc
    asks = data.get("asks") if isinstance(data, dict) else None
    if not isinstance(asks, list) or not asks:
        raise ValueError(f"{path}: expected an object with a non-empty list 'asks'")
    parties = data.get("parties")
    if not isinstance(parties, dict) or not isinstance(parties.get("pattern"), str) or not parties["pattern"]:
        raise ValueError(f"{path}: expected 'parties' with a non-empty string 'pattern'")
    try:
        parties_pattern = re.compile(parties["pattern"])
    except re.error as exc:
        raise ValueError(f"{path}: parties: bad pattern: {exc}") from exc
    forms = []
    for index, item in enumerate(asks):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k] for k in ("name", "pattern", "why")):
            raise ValueError(f"{path}: asks[{index}] needs non-empty strings name, pattern and why")
        for flag in ("alone", "needs_party"):
            if not isinstance(item.get(flag, False), bool):
                raise ValueError(f"{path}: asks[{index}] ({item['name']}): '{flag}' must be true or false")
        try:
            forms.append(AskForm(item["name"], re.compile(item["pattern"]), item["why"], item.get("alone", False),
                                 item.get("needs_party", False)))
        except re.error as exc:
            raise ValueError(f"{path}: asks[{index}] ({item['name']}): bad pattern: {exc}") from exc
    return AskForms(tuple(forms), parties_pattern)


def legal_asks(question: str, party_named: bool = False) -> list[AskForm]:
    """The legal ask forms of the question (可以…吗, 有效吗, 什么是, 怎么办 …), in file order;
    a form that needs a party (怎么办) only when the question names someone else: a word of
    the file's `parties`, or `party_named` (the caller has found so already: `names_party`)."""
    forms = load_legal_asks()
    named = party_named or forms.parties.search(question) is not None
    return [form for form in forms if form.pattern.search(question) and (named or not form.needs_party)]


def has_legal_ask(question: str, tokenize: Callable[[str], list[str]], vocabulary: LegalVocabulary,
                  party_named: bool = False) -> bool:
    """A legal ask form about a subject the statutes talk about (`LegalVocabulary.topical`).

    Why: ordinary people ask legal questions in everyday words (我可以放弃遗产吗？邻居加装
    电梯影响我的生活该怎么办？什么是扒窃？). Neither half is enough alone — 怎么办 also asks
    about a slow computer, 电影 is also in 电影产业促进法 — but asking whether something is
    allowed, valid, punished, what a concept means or what one can do, about a subject the
    law is far more about than everyday Chinese is, is what a legal question is. The words
    of the ask form itself (区别, 要求) are not the subject, and the subject is a word as
    written (`whole_words`). 怎么办 / 怎么处理 also ask about a broken washing machine or a
    damp wall, whose words the statutes use too (漏水, 墙面): they count only when the
    question names someone else — the other side of a legal relation (邻居加装电梯,
    房东不退押金, 被人打了) — see `AskForm.needs_party`."""
    found = legal_asks(question, party_named)
    if not found:
        return False
    if any(form.alone for form in found):
        return True
    cues = "".join(form.pattern.pattern for form in load_legal_asks())
    return any(vocabulary.topical(word) for word in whole_words(content_words(tokenize(question))) if word not in cues)


def other_actors(scenario: dict[str, list[str]]) -> list[str]:
    """The recognised actors other than the person asking (an agency, firm or staff member)."""
    return [a for a in scenario.get("actors", []) if a != ROLE_CITIZEN]


def names_party(question: str, scenario: dict[str, list[str]]) -> bool:
    """The question names someone other than the asker: an agency, firm or staff member
    `recognise_scenario` finds, or a word of the ask file's `parties` (邻居, 医生, 单位, 被…)."""
    return bool(other_actors(scenario)) or load_legal_asks().parties.search(question) is not None


def has_legal_story(scenario: dict[str, list[str]]) -> bool:
    """An agency, firm or staff member (not only 我/市民) together with a harm or relation."""
    return bool(other_actors(scenario)) and bool(scenario.get("harms") or scenario.get("relations"))


def understand(
    question: str,
    *,
    issue_map: IssueMap | None = None,
    tokenize: Callable[[str], list[str]] | None = None,
    vocabulary: LegalVocabulary | None = None,
    regions: Iterable[str] = (),
    threshold: float | None = None,
) -> Understanding:
    """What the question says and asks, and whether it has legal content (module doc).

    `tokenize` is the collection's segmenter (the BM25 one, so words agree with the index;
    default: plain jieba through a dictionary-less `Segmenter`); `vocabulary` the
    collection's legal vocabulary (default: the fixed words only); `regions` the places of
    the collection's local documents.
    """
    facts, asks = split_facts_and_asks(question)
    scenario = recognise_scenario(question)
    region = region_of(question, regions, issue_map)
    issues: list[RecognisedIssue] = []
    if issue_map is not None:
        issues = issue_map.match(question) if threshold is None else issue_map.match(question, threshold)
        if region:
            # a local issue of another place never matches (checked in match); prefer the named place's
            issues.sort(key=lambda r: (-r.score, r.region != region and bool(r.region), r.issue_id))
    act_kinds = list(dict.fromkeys(kind for issue in issues for kind in issue.act_kinds))
    tokenize = tokenize or _default_tokenize
    words = content_words(tokenize(question))
    vocabulary = vocabulary or LegalVocabulary()
    if issue_map is not None and not issue_map.legal_terms <= vocabulary.lexicon:
        vocabulary = replace(vocabulary, lexicon=vocabulary.lexicon | issue_map.legal_terms)
    party = names_party(question, scenario)
    legal = (bool(issues) or has_legal_story(scenario) or has_legal_vocabulary(question, words, vocabulary)
             or has_legal_ask(question, tokenize, vocabulary, party_named=party))
    return Understanding(
        facts=facts,
        asks=asks,
        intents=intents_of(asks, question) if legal else [],
        actors=list(scenario.get("actors", [])),
        harms=list(scenario.get("harms", [])),
        relations=list(scenario.get("relations", [])),
        act_kinds=act_kinds,
        issues=issues,
        region=region,
        legal=legal,
        names_party=party,
    )


_SEGMENTER = None


def _default_tokenize(text: str) -> list[str]:
    """Plain jieba words (no collection dictionary) for callers without an index."""
    global _SEGMENTER
    if _SEGMENTER is None:
        _SEGMENTER = Segmenter()
    return _SEGMENTER.tokenize(text)
