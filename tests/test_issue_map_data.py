"""The issue map data file (`assistant/data/issue_map.json`) against the real corpus.

The map is authored by hand from the law; these tests are what keeps it honest: the
file has the shared format (ISSUEMAP_SCHEMA.md), its cues are specific enough to be
scored (no empty or one-character cue parts), and every provision it cites is an
article of the CURRENT version of that law in the parsed `default` collection, with
any stated time limit actually written in that article. The checks are pure functions
so that the tests can also show they catch a broken entry.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from assistant.pipeline import UnitTable
from corpus.numerals import chinese_to_int, int_to_chinese

MAP_PATH = Path(__file__).resolve().parents[1] / "assistant" / "data" / "issue_map.json"
MAX_PROVISIONS = 14
ROLES = {"basis", "duty", "liability", "remedy", "time_limit", "defendant", "burden_of_proof"}
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CN_RUN = re.compile(r"[零〇○一二两三四五六七八九十百千万]+")
_DIGIT_RUN = re.compile(r"[0-9]+")


def load_map() -> dict:
    return json.loads(MAP_PATH.read_text(encoding="utf-8"))


def cue_problem(cue: str, families: dict | None = None) -> str:
    """Why a cue can never be specific, or "" when it can.

    A single character (码, 泄) occurs in nearly any question, so a plain cue needs two
    characters. In an `a&b` cue one single-character part is allowed when the rest
    carries it (`码&红色`), but not two (`卖&判` would fire on 买卖合同……判决). A part
    `@name` is a synonym family of the map's `families` (its words have two characters
    or more, so it counts as a long part)."""
    parts = [re.sub(r"\s+", "", part) for part in cue.split("&")]
    if any(not part for part in parts):
        return "has an empty part"
    unknown = [part for part in parts if part.startswith("@") and part[1:] not in (families or {})]
    if unknown:
        return f"names the undefined family {unknown[0]}"
    if len(parts) == 1:
        return "is a single character" if len(parts[0]) < 2 else ""
    if sum(len(part) == 1 for part in parts) > 1 or sum(map(len, parts)) < 3:
        return "has more than one single-character part"
    return ""


def structure_problems(data: dict) -> list[str]:
    """Format problems of the whole map: version, ids, roles, cues, provision counts."""
    problems = []
    if data.get("format") != 1:
        problems.append(f"format is {data.get('format')!r}, expected 1")
    families = data.get("families", {})
    for name, words in families.items():
        short = [word for word in words if len(re.sub(r"\s+", "", word)) < 2]
        if not words or short:
            problems.append(f"family {name!r} is empty or has a single-character word {short}")
    seen: set[str] = set()
    for issue in data.get("issues", []):
        iid = issue.get("id", "")
        if not ID_RE.match(iid):
            problems.append(f"{iid!r}: id is not kebab-case")
        if iid in seen:
            problems.append(f"{iid}: duplicate id")
        seen.add(iid)
        for key in ("name", "area"):
            if not str(issue.get(key, "")).strip():
                problems.append(f"{iid}: empty {key}")
        if not issue.get("act_kinds") or not issue.get("roles"):
            problems.append(f"{iid}: act_kinds and roles must not be empty")
        cues = issue.get("cues", {})
        for kind in ("lay", "legal"):
            if not cues.get(kind):
                problems.append(f"{iid}: no {kind} cues")
            for cue in cues.get(kind, []):
                problem = cue_problem(cue, families)
                if problem:
                    problems.append(f"{iid}: cue {cue!r} {problem}")
        provisions = issue.get("provisions", [])
        # at most MAX_PROVISIONS: an issue that needs more is two issues (the ranking
        # votes by place inside an issue, so a long list buries its own tail)
        if not 3 <= len(provisions) <= MAX_PROVISIONS:
            problems.append(f"{iid}: {len(provisions)} provisions (expected 3-{MAX_PROVISIONS})")
        for prov in provisions:
            if prov.get("role") not in ROLES:
                problems.append(f"{iid}: {prov.get('law')}{prov.get('article')} has role {prov.get('role')!r}")
            if not str(prov.get("why", "")).strip():
                problems.append(f"{iid}: {prov.get('law')}{prov.get('article')} has no why")
    return problems


def limit_forms(limit: str) -> set[str]:
    """A time limit as written plus its other spelling: `60日` ↔ `六十日`, `两年` → `2年`."""
    as_chinese = _DIGIT_RUN.sub(lambda m: int_to_chinese(int(m.group())), limit)
    as_digits = _CN_RUN.sub(lambda m: str(chinese_to_int(m.group())), limit)
    return {limit, as_chinese, as_digits}


def provision_problems(data: dict, table: UnitTable) -> list[str]:
    """Provisions that do not name an article of a current law version, or whose
    `time_limit` is not written in that article's text."""
    problems = []
    for issue in data.get("issues", []):
        for prov in issue.get("provisions", []):
            ref = f"{issue['id']}: {prov['law']}{prov['article']}"
            unit_id = table.resolve(prov["law"], prov["article"])
            if unit_id is None:
                problems.append(f"{ref} does not resolve to a current version in the collection")
                continue
            doc, unit = table.units[unit_id]
            if doc.status != "current":
                problems.append(f"{ref} resolves to a {doc.status} version")
            limit = prov.get("time_limit")
            if limit is not None and not any(form in unit.text for form in limit_forms(limit)):
                problems.append(f"{ref}: time limit {limit!r} is not in the article text")
    return problems


def region_problems(data: dict, table: UnitTable) -> list[str]:
    """A local issue must cite at least one regulation of its own place."""
    problems = []
    for issue in data.get("issues", []):
        region = issue.get("region", "")
        if not region:
            continue
        places = set()
        for prov in issue["provisions"]:
            unit_id = table.resolve(prov["law"], prov["article"])
            if unit_id is not None:
                places.add(table.units[unit_id][0].region)
        if not any(region in place for place in places):
            problems.append(f"{issue['id']}: region {region!r} but no provision from a regulation of that place")
    return problems


@pytest.fixture(scope="module")
def table(default_documents) -> UnitTable:
    return UnitTable.build(default_documents)


def test_map_structure():
    data = load_map()
    assert structure_problems(data) == []
    assert len(data["issues"]) >= 15


def test_structure_check_catches_bad_entries():
    data = load_map()
    broken = copy.deepcopy(data)
    broken["format"] = 2
    broken["issues"].append(copy.deepcopy(broken["issues"][0]))  # duplicate id
    broken["issues"][0]["cues"]["lay"] += ["码", "卖&判", "健康码&", "@无此词族&泄露"]
    broken.setdefault("families", {})["坏词族"] = ["外包公司", "码"]
    broken["issues"][0]["provisions"][0]["role"] = "reason"
    problems = structure_problems(broken)
    assert any("format" in p for p in problems)
    assert any("duplicate id" in p for p in problems)
    assert any("'码' is a single character" in p for p in problems)
    assert any("'卖&判' has more than one single-character part" in p for p in problems)
    assert any("'健康码&' has an empty part" in p for p in problems)
    assert any("undefined family @无此词族" in p for p in problems)
    assert any("'坏词族'" in p for p in problems)
    assert any("'reason'" in p for p in problems)


def test_the_product_loader_accepts_the_map():
    """The file this test checks is the one the product reads, and its loader agrees."""
    from assistant.issue_map import DEFAULT_PATH, load_issue_map

    assert DEFAULT_PATH == MAP_PATH
    loaded = load_issue_map(MAP_PATH)
    data = load_map()
    assert [issue.id for issue in loaded.issues] == [issue["id"] for issue in data["issues"]]


def test_limit_forms():
    assert "六十日" in limit_forms("60日")
    assert "60日" in limit_forms("六十日")
    assert "2年" in limit_forms("两年")
    assert "20个工作日" in limit_forms("20个工作日")


def test_every_provision_is_a_current_article_of_default(table):
    data = load_map()
    assert provision_problems(data, table) == []


def test_provision_check_catches_unknown_articles_and_limits(table):
    data = load_map()
    broken = copy.deepcopy(data)
    first = broken["issues"][0]["provisions"]
    first[0]["article"] = "第九百九十九条"
    first[1]["time_limit"] = "九百九十九日"
    first.append({"law": "中华人民共和国不存在法", "article": "第一条", "role": "basis", "why": "x"})
    problems = provision_problems(broken, table)
    assert any("第九百九十九条 does not resolve" in p for p in problems)
    assert any("九百九十九日" in p for p in problems)
    assert any("不存在法" in p for p in problems)


def test_local_issues_cite_their_place(table):
    assert region_problems(load_map(), table) == []


#: Plain-word questions written for this test (none is in a dev set), each with the issue a
#: legal-aid lawyer would name first. The synonym families exist so that such paraphrases
#: reach their issue; a cue edit that loses one of them fails here.
PARAPHRASES = [
    ("我家小区门口装了人脸门禁，物业说不录脸就不给进，这合法吗？", "facial-recognition"),
    ("交警的电子眼拍到我违停，可我那天车根本没开出去，是套牌，罚款怎么撤？", "non-site-enforcement"),
    ("区里的一个项目做完一年了，政府还欠我们小公司三十万尾款，说要等审计，合法吗？", "sme-payment-arrears"),
    ("政府说好给我们企业的招商补贴，换了领导就不认了，能起诉吗？", "gov-breach-of-promise"),
    ("外卖平台老给我推高价的东西，我朋友同样的东西便宜，这是不是大数据杀熟？", "algorithm-recommendation-labels"),
    ("城管委托的保安公司把我的摊子砸了，我应该告城管还是告保安公司？", "defendant-entrusted"),
    ("镇政府在公示栏把低保户的身份证号和家庭住址都贴出来了，能要求撤下来吗？", "gov-disclosure-privacy"),
    ("我在网上申请营业执照，系统一直说我身份验证失败，跑了三趟窗口都说让我网上办。", "online-gov-service-failure"),
    ("政府采购的软件公司把我们市民的数据传到国外服务器上了，这犯法吗？", "cross-border-data"),
    ("我被公安拘留了十天，后来说抓错了人，国家能赔我多少钱？", "state-compensation-amount"),
    ("孩子幼儿园把小朋友的视频发到了网上，能要求删掉吗？", "minor-personal-information"),
    ("我被刑拘了37天，最后检察院决定不起诉，能申请国家赔偿吗？", "criminal-compensation"),
    ("政务App要读取我的通讯录和位置，不给就用不了，合法吗？", "network-operator-pi"),
    ("医院的护士把我的病历拍照发给了别人，医院要负责吗？", "medical-health-privacy"),
    ("我的电子营业执照被人冒用签了合同，谁负责？", "electronic-signature-misuse"),
    ("我去年向市信访局反映问题，到现在三个月了一直没答复，怎么办？", "petition-handling"),
    ("申请食品经营许可证，材料交了一个多月了还不给批，让我反复补材料", "license-application-delay"),
    ("我上班路上被车撞了，单位不给申请工伤，人社局也拖着不认定，怎么办？", "work-injury-recognition"),
    ("公积金中心说我的缴存记录不对，不让我提取买房", "housing-fund-dispute"),
    ("城管罚了我五千，法院能判他们撤销吗？", "admin-litigation-judgment"),
    ("市场监管局来店里检查，就来了一个人，也没出示证件，就把我的货扣下了，还不给清单", "inspection-procedure"),
    ("疫情期间我的酒店被区政府征用当隔离点，结束后损坏的东西一直不给补偿，找谁？", "emergency-requisition-compensation"),
]


def test_general_legal_questions_stay_unmatched():
    """Questions from outside digital government that share a word with a family (未成年
    子女的姓名, 出售烟酒, 车辆过户, 商标被注册) must not be taken for a map issue."""
    from assistant.issue_map import load_issue_map

    m = load_issue_map(MAP_PATH)
    for question in ("离婚后，未通知另一方监护人即变更未成年子女的姓名，是否合法？",
                     "随意向未成年人出售烟酒，这是合法的吗？",
                     "运输车辆尚在分期付款阶段并未过户，货物损失的赔偿责任应如何承担？",
                     "商品的通用名称或描述性标志被注册商标了，我还可以使用吗？",
                     "专利实施许可合同的申请被驳回了怎么办？",
                     "劳动合同到期不续签有补偿吗？"):
        assert m.match(question) == [], question


@pytest.mark.parametrize("question, issue_id", PARAPHRASES)
def test_paraphrases_reach_their_issue(question, issue_id):
    from assistant.issue_map import load_issue_map

    found = [r.issue_id for r in load_issue_map(MAP_PATH).match(question)]
    assert issue_id in found, f"{question} → {found}"


def test_the_map_rewrites_everyday_phrases_before_matching():
    """The shipped `rewrites`: 扣了6分 is not a seizure, 店关了 is not a detention, while
    a person held for days (被错关了15天) still is."""
    from assistant.issue_map import load_issue_map

    m = load_issue_map(MAP_PATH)
    points = [r.issue_id for r in m.match("交通违法电子眼拍错了，把别人的车牌认成我的，扣了6分罚200，我该怎么办？")]
    assert "non-site-enforcement" in points and "administrative-coercion" not in points
    closed = [r.issue_id for r in m.match("健康码被错误标红，店关了半个月，损失谁赔？")]
    assert "health-code-error" in closed and not {"criminal-compensation", "public-security-penalty"} & set(closed)
    assert "criminal-compensation" in [r.issue_id for r in m.match("被派出所错关了15天，能赔多少？")]
