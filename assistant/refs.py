"""Article reference strings (`<law title><第X条>`) as used in analysis `basis` lists.

Kept tiny and shared: the analysis writes these strings, the pipeline verifies them
against the index and the evaluation resolves them — all with this one splitter.
"""
from __future__ import annotations

import re

from corpus.numerals import canonical_article_label

#: The last `第…条` (optionally `之X`) at the end of a ref, after a non-empty law title.
REF_RE = re.compile(r"^(?P<law>.+?)(?P<article>第[零〇一二两三四五六七八九十百千0-9]+条(?:之[一二三四五六七八九十]+)?)$")


def split_ref(ref: str) -> tuple[str, str] | None:
    """`中华人民共和国数据安全法第四十五条` → (`中华人民共和国数据安全法`, `第四十五条`).

    Arabic article numbers are canonicalised (`第45条` → `第四十五条`). None when the
    string does not end with an article label.
    """
    match = REF_RE.match((ref or "").strip())
    if not match:
        return None
    label = canonical_article_label(match["article"]) or match["article"]
    return match["law"].strip("《》 "), label
