"""Cross-check of the whole national LawRefBook collection against an independent count.

For every national Markdown file (everything except DLC/ and _index.md) the number of
article units must equal the number of body lines that start with an article label,
counted here with this file's own simple regex (not the parser's). The full national
parse takes ~2 s, so it runs by default; the local collection (DLC/) is checked too.

Files where the line-start count itself is wrong are listed in COUNT_EXCEPTIONS with
the reason, and their true article structure is asserted instead.
"""
import json
import re
from pathlib import Path

import pytest

from corpus.markdown import is_document, merge_parts, read_lawrefbook
from corpus.versions import assign_status

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAWREF = SHARED / "corpus" / "lawrefbook"

#: Independent line-start count: `第…条` (also `第一百二十四 条` and the typo `笫`, both
#: present in the sources) at the very start of a body line, i.e. after `<!-- INFO END -->`
#: — header event lines can wrap so that a line starts with `第三十一条的决定》…`.
LINE_START = re.compile(r"^[第笫]\s*[零〇一二两三四五六七八九十百千0-9]+\s*条")

CASE_QUOTING_STATUTE = "a case (案例) quotes a 司法解释 article at a line start; cases have no articles"
#: relative path → (reason, expected number of article units)
COUNT_EXCEPTIONS = {
    "宪法/宪法修正案（2018年）.md": (
        "amendment 第五十二条 quotes the new Constitution articles 第一百二十三条–第一百二十七条 "
        "(and the heading 第七节) without quotation marks: 26 line starts, 21 amendment articles",
        21,
    ),
    "行政法规/飞行基本规则(2007-10-18).md": (
        "the source puts several articles on one line ('…。 第二条 …'): 12 line starts, 124 articles",
        124,
    ),
    "案例/消费购物/吴某与某电子商务有限公司买卖合同纠纷案.md": (CASE_QUOTING_STATUTE, 0),
    "案例/消费购物/李某与某购物广场买卖合同纠纷案.md": (CASE_QUOTING_STATUTE, 0),
    "案例/消费购物/江某诉某信息技术有限公司网络购物合同纠纷一案.md": (CASE_QUOTING_STATUTE, 0),
    "案例/消费购物/郑某与某儿童食品公司网络购物合同纠纷案.md": (CASE_QUOTING_STATUTE, 0),
    "案例/消费购物/魏某诉某科技有限公司网络购物合同纠纷一案.md": (CASE_QUOTING_STATUTE, 0),
}


def line_start_count(path: Path) -> int:
    body = path.read_text(encoding="utf-8").split("<!-- INFO END -->", 1)[-1]
    return sum(1 for line in body.splitlines() if LINE_START.match(line))


def national_files() -> list[Path]:
    return sorted(
        p for p in LAWREF.rglob("*.md") if is_document(p) and p.relative_to(LAWREF).parts[0] != "DLC"
    )


@pytest.fixture(scope="module")
def national():
    """(path, document) for every national file, parsed once for this module."""
    return [(p, read_lawrefbook(p, LAWREF)) for p in national_files()]


def test_every_national_file_matches_line_start_count(national):
    assert len(national) >= 1500
    mismatches = []
    for path, doc in national:
        rel = path.relative_to(LAWREF).as_posix()
        units = len(doc.articles())
        if rel in COUNT_EXCEPTIONS:
            assert units == COUNT_EXCEPTIONS[rel][1], rel
            assert line_start_count(path) != units, f"{rel} no longer needs its exception"
            continue
        expected = line_start_count(path)
        if units != expected:
            mismatches.append((rel, units, expected))
    assert mismatches == []


def test_national_total_and_sequences(national):
    total = sum(len(doc.articles()) for _, doc in national)
    assert total >= 64_000
    # the two law exceptions above are truly sequential once parsed
    by_rel = {p.relative_to(LAWREF).as_posix(): doc for p, doc in national}
    assert [u.ordinal for u in by_rel["行政法规/飞行基本规则(2007-10-18).md"].articles()] == list(range(1, 125))
    assert [u.ordinal for u in by_rel["宪法/宪法修正案（2018年）.md"].articles()] == list(range(32, 53))


def test_gold_articles_exist_in_current_documents(national):
    """Every gold (law, article) of the shipped eval files is an article of a current document."""
    docs = assign_status(merge_parts([doc for _, doc in national]))
    current: dict[str, set[str]] = {}
    for doc in docs:
        if doc.status == "current":
            assert doc.title not in current, f"two current documents titled {doc.title}"
            current[doc.title] = {u.number for u in doc.articles()}
    missing = []
    total = 0
    for name in ("stard/stard_train.jsonl", "domain/domain_dev.jsonl"):
        for line in (SHARED / "eval" / name).read_text(encoding="utf-8").splitlines():
            for gold in json.loads(line)["gold"]:
                total += 1
                if gold["article"] not in current.get(gold["law"], set()):
                    missing.append((gold["law"], gold["article"]))
    assert total > 2000
    assert missing == []


def test_local_collection_matches_line_start_count():
    files = sorted(p for p in (LAWREF / "DLC").rglob("*.md") if is_document(p))
    assert len(files) >= 1900
    mismatches = []
    total = 0
    for path in files:
        doc = read_lawrefbook(path, LAWREF)
        assert doc.doc_type == "地方性法规" and doc.region
        total += len(doc.articles())
        if len(doc.articles()) != line_start_count(path):
            mismatches.append(path.relative_to(LAWREF).as_posix())
    assert mismatches == []
    assert total >= 80_000
