"""Document type from what a document says about itself (title, preamble, issuer).

One rule set for every reader that has no better source (a LawRefBook folder or a
front-matter `doc_type` is better): PDFs, DOCX, plain text and Markdown uploaded outside
the LawRefBook layout. Order matters: the most specific evidence is checked first.
"""
from __future__ import annotations

import re

_TRAILING_NOTE = re.compile(r"[（(][^）)]*[）)]$")  # (2023-2025年), （试行）, （2021修正）
_JUDICIAL = re.compile(r"^最高人民(法院|检察院)")
_NPC_ADOPTED = re.compile(r"全国人民代表大会.{0,30}通过")
_LOCAL_CONGRESS = re.compile(r"(省|市|自治区|自治州|县)(第[一二三四五六七八九十]+届)?人民代表大会.{0,20}(通过|批准)")
_LOCAL_TITLE = re.compile(r"^.{2,12}?(省|自治区|市|自治州|县|经济特区)")


def infer_doc_type(title: str, *, has_articles: bool, preamble: str = "", issuer: str = "") -> str:
    """Best guess among DOC_TYPES.

    * 司法解释: titles of the Supreme People's Court / Procuratorate, or 解释 in a statute;
    * 法律: statutes titled 中华人民共和国…法, ending in 法, or adopted by the NPC (preamble);
    * 地方性法规: statutes adopted by a local people's congress, or 条例 titled by a place;
    * 行政法规: 国务院令 in the preamble, or other 条例;
    * 部门规章: statutes titled 规定 / 办法 / 细则 / 规则;
    * 规划: texts titled 规划 or 纲要 that are not laws (十四五…规划);
    * 规范性文件: everything else (意见, 通知, 方案, budgets…).
    """
    core = _TRAILING_NOTE.sub("", title.strip())
    if _JUDICIAL.match(core) and re.search(r"解释|规定|批复|决定", core):
        return "司法解释"
    if has_articles:
        if "解释" in core and not core.endswith("法"):
            return "司法解释"
        is_law_title = core.endswith(("法", "法典")) and not core.endswith("办法")
        if is_law_title or "法修正案" in core or _NPC_ADOPTED.search(preamble):
            return "法律"
        if _LOCAL_CONGRESS.search(preamble) or (core.endswith("条例") and _LOCAL_TITLE.match(core)):
            return "地方性法规"
        if "国务院令" in preamble or core.endswith("条例") or (issuer == "国务院" and core.endswith(("规定", "办法"))):
            return "行政法规"
        if re.search(r"(规定|办法|细则|规则)$", core):
            return "部门规章"
    if ("规划" in core or "纲要" in core) and not core.endswith("法"):
        return "规划"
    return "规范性文件"
