"""Document type from what a document says about itself (title, preamble, issuer).

One rule set for every reader that has no better source (a LawRefBook folder or a
front-matter `doc_type` is better): PDFs, DOCX, plain text and Markdown uploaded outside
the LawRefBook layout. Order matters: the most specific evidence is checked first.

Binding types need evidence of who enacted the text, because a title alone is weak: a
university's 《本科生学籍管理条例》 and a translation of the EU's 《通用数据保护条例》 are
条例 with articles, and any organisation writes 规定 and 办法. The evidence accepted:

| type        | evidence (title or preamble)                                                 |
|-------------|------------------------------------------------------------------------------|
| 法律        | title 中华人民共和国…法 / …法修正案, or a 全国人民代表大会… 通过 line          |
| 司法解释    | title issued by 最高人民法院 / 最高人民检察院, or a 法释〔2021〕12号 line or   |
|             | the court's 审判委员会 (the procuratorate's 检察委员会) adoption line         |
| 地方性法规  | a local people's congress adoption line (…省…人民代表大会…通过/批准), a title  |
|             | 〈place〉…条例 (only local congresses name 条例 after a place; not a school's), |
|             | or a local congress standing committee's decision amending regulations       |
| 行政法规    | 国务院令 (第N号), or 国务院 as issuer of a 条例/规定/办法                      |
| 部门规章    | an order number of a ministry or government (…部令第N号, 人民政府令第N号)      |
| 规范性文件  | an official document number (国发〔2023〕5号) on a text with articles          |

A text with articles and none of this is 效力待确认: the analysis does not treat it as
binding (`assistant.provisions.BINDING_TYPES`), and the user can set the type
(`fagui ingest --doc-type`, the upload form). Texts without articles are 规划 or
规范性文件 as before; neither is binding.
"""
from __future__ import annotations

import re

from corpus.numerals import NUMERAL_CHARS, SMALL_NUMERAL_CHARS

UNCONFIRMED = "效力待确认"

_TRAILING_NOTE = re.compile(r"[（(][^）)]*[）)]$")  # (2023-2025年), （试行）, （2021修正）
_JUDICIAL = re.compile(r"^最高人民(法院|检察院)")
#: A judicial interpretation's own number on a line of its own (法释〔2021〕12号, 高检发释字〔2019〕
#: 4号) or its adoption by the court's 审判委员会: the title (人民法院在线诉讼规则) need not name
#: the court, and a document that only cites an interpretation does neither.
_JUDICIAL_EVIDENCE = re.compile(
    r"^\s*(?:法释|高检发释字)\s*[〔\[(（]\s*\d{4}\s*[〕\])）]\s*\d+\s*号\s*$"
    r"|最高人民(?:法院审判|检察院检察)委员会第?\s*[\d一二三四五六七八九十百千零〇]+\s*次会议[^。]{0,12}通过",
    re.M,
)
_NATIONAL_LAW_TITLE = re.compile(r"^中华人民共和国.+(?<!办)法$|^中华人民共和国.+法典$|法修正案")
_NPC_ADOPTED = re.compile(r"全国人民代表大会.{0,30}通过")
_NPC_STANDING = re.compile(r"全国人民代表大会常务委员会")
_LOCAL_CONGRESS = re.compile(rf"(省|市|自治区|自治州|县)(第[{SMALL_NUMERAL_CHARS}]+届)?人民代表大会.{{0,20}}(通过|批准)")
_LOCAL_STANDING = re.compile(r"(省|市|自治区|自治州|县)人民代表大会常务委员会")
_LOCAL_TITLE = re.compile(r"^.{2,12}?(省|自治区|市|自治州|县|经济特区)")
#: Words that make a place-titled 条例 an institution's rules (北京市某大学学生条例).
_INSTITUTION = re.compile(r"大学|学院|学校|公司|集团|医院|协会|学会|研究院|研究所")
_STATE_COUNCIL_ORDER = re.compile(r"国务院令|国务院第\s*\d+\s*号令")
_ORDER_NUMBER = re.compile(rf"令\s*(?:[〔\[(（]?\d{{4}}[〕\])）]?\s*年?)?\s*第\s*[{NUMERAL_CHARS}]+\s*号")
_DOCUMENT_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,10}[〔\[(（]\s*\d{4}\s*[〕\])）]\s*\d+\s*号")
#: A decision of a standing committee amending or repealing regulations (关于修改《…条例》等四件法规的决定).
_AMENDING_DECISION = re.compile(r"关于(修改|废止|修改和废止|修改、废止)[^的]*?(《.+?》|法规).*决定$")


def infer_doc_type(title: str, *, has_articles: bool, preamble: str = "", issuer: str = "") -> str:
    """Best guess among DOC_TYPES from the evidence in the table of the module docstring."""
    core = _TRAILING_NOTE.sub("", title.strip())
    evidence = f"{core}\n{preamble}"
    if (_JUDICIAL.match(core) and re.search(r"解释|规定|批复|决定", core)) or _JUDICIAL_EVIDENCE.search(preamble):
        return "司法解释"
    amending = amending_decision_type(core, evidence)
    if amending:
        return amending
    if has_articles:
        return statute_type(core, evidence, issuer)
    if ("规划" in core or "纲要" in core) and not core.endswith("法"):
        return "规划"
    return "规范性文件"


#: Province-level names as a local people's congress calls itself (…省人民代表大会).
PROVINCES = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省", "浙江省",
    "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省", "四川省", "贵州省",
    "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区", "西藏自治区",
    "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)
_CONGRESS_AFTER = rf"(?:第[{SMALL_NUMERAL_CHARS}]+届)?人民代表大会"
_TITLE_CITY = re.compile(r"^(?P<city>[\u4e00-\u9fff]{2,6}?(?:市|自治州))")


def congress_region(title: str, evidence: str) -> str:
    """The region of a local regulation from the congresses its preamble names: the one
    province-level congress (`浙江省第十三届人民代表大会常务委员会…批准`), plus the city whose
    name the title begins with when that city's congress adopted it (`台州市…人民代表大会…
    通过` for 台州市企业信用促进条例 → `浙江省台州市`), as the LawRefBook reader names it from
    its folder and issuer (`corpus.markdown.refine_region`); "" when it cannot tell. Why: a
    PDF of a local regulation had no region, so it never met its Markdown text as a version."""
    provinces = [p for p in PROVINCES if re.search(re.escape(p) + _CONGRESS_AFTER, evidence)]
    if len(provinces) != 1:
        return ""
    province = provinces[0]
    m = _TITLE_CITY.match(title)
    if m and m["city"] != province and re.search(re.escape(m["city"]) + _CONGRESS_AFTER, evidence):
        return province + m["city"]
    return province


def amending_decision_type(core: str, evidence: str) -> str:
    """法律 / 地方性法规 for a congress standing committee's decision amending laws or
    regulations (its body lists amendments, not articles); "" for anything else."""
    if not _AMENDING_DECISION.search(core):
        return ""
    if _NPC_STANDING.search(evidence) and not _LOCAL_STANDING.search(evidence):
        return "法律"
    if core.startswith("国务院"):
        return "行政法规"
    if _LOCAL_STANDING.search(evidence) or _LOCAL_CONGRESS.search(evidence):
        return "地方性法规"
    return ""


def statute_type(core: str, evidence: str, issuer: str = "") -> str:
    """The type of a text with articles: a binding type only on evidence, else 效力待确认."""
    if _NATIONAL_LAW_TITLE.search(core) or _NPC_ADOPTED.search(evidence):
        return "法律"
    if _LOCAL_CONGRESS.search(evidence):
        return "地方性法规"
    if core.endswith("条例") and _LOCAL_TITLE.match(core) and not _INSTITUTION.search(core):
        return "地方性法规"
    if _STATE_COUNCIL_ORDER.search(evidence) or (issuer == "国务院" and core.endswith(("条例", "规定", "办法"))):
        return "行政法规"
    if _ORDER_NUMBER.search(evidence):
        return "部门规章"
    if _DOCUMENT_NUMBER.search(evidence):
        return "规范性文件"
    return UNCONFIRMED
