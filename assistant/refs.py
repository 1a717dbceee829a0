"""Article reference strings (`<law title><第X条>`) as used in analysis `basis` lists.

Kept tiny and shared: the analysis writes these strings, the pipeline verifies them
against the index and the evaluation resolves them — all with this one splitter.
"""
from __future__ import annotations

import re

from corpus.numerals import NUMERAL_CHARS, canonical_article_label
from corpus.versions import written_title

#: `<law>第X条` / `<law>第X条之Y` — the law is everything before the LAST article label
#: (greedy `law`), so a title that itself contains `第` (…（第二号）) stays whole. Any
#: numeral `corpus.numerals` reads (Chinese, Arabic, full-width), spaces inside the
#: label and the common 笫 typo of annotators are accepted.
REF_RE = re.compile(
    r"^(?P<law>.+)(?P<article>[第笫]\s*[" + NUMERAL_CHARS + r"\s]+?\s*条(?:\s*之\s*[" + NUMERAL_CHARS + r"]+)?)\s*$",
    re.S,
)


def split_ref(ref: str) -> tuple[str, str] | None:
    """`中华人民共和国刑法第二百五十三条之一` → (`中华人民共和国刑法`, `第二百五十三条之一`).

    The law is tidied by `corpus.versions.written_title` (no whitespace, no outer
    book-title marks) and the article label canonicalised (`第45条` → `第四十五条`).
    None when the text does not end in an article label (a policy-document section,
    a bare law title) or has no law before it.
    """
    match = REF_RE.match((ref or "").strip())
    if not match:
        return None
    law = written_title(match["law"])
    if not law:
        return None
    try:
        article = canonical_article_label(re.sub(r"\s+", "", match["article"]))
    except ValueError:
        return None
    return law, article
