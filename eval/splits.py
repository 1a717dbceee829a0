"""The fixed held-out splits: which annotated questions no tuning or training may see.

One owner for the rule, because every tuned thing (the issue map, the fusion constant,
the trained embedder, the reranker) must be measured on questions it never saw, and the
split must not move between runs, machines or seeds:

| question set | held out | why this rule |
|---|---|---|
| STARD (`stard-…` ids, `stard_train.jsonl`) | the 20 % whose id hash bucket is below 0.2 (`heldout_bucket`) | the rule `fagui train --holdout 0.2` has used since the first trained model (eval/reports/TRAIN.md) |
| domain sets (`domain_dev`, `domain_lay_dev`) | the odd half: ids whose trailing number is odd (`half_of`) | the issue map was tuned on the even half only (eval/tune_issue_map.py), so the odd half is the only domain split no tuning has touched |
| any other file (a user's own questions) | the STARD rule | a hash of the id: stable, and independent of file order |

Within the training part, STARD questions with a bucket in [0.2, 0.3) are the *dev*
slice (`is_dev`): the reranker is not trained on them, and its depth and blend are
chosen on them, so nothing is ever chosen by looking at the held-out part.

`SPLIT_RULES` maps a question file's name to its rule; `is_heldout(question_id, rule)`
applies it. Callers pass the rule explicitly (`rule_for_file`), nothing guesses it
from the id.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Sequence

#: Share of STARD-style questions held out (by id hash).
HASH_HELDOUT_SHARE = 0.2
#: Upper end of the dev slice's bucket range (dev = [HASH_HELDOUT_SHARE, HASH_DEV_END)).
HASH_DEV_END = 0.3
HASH_RULE = "hash-0.2"
ODD_RULE = "odd-half"
#: Question file name → split rule (files not listed use HASH_RULE).
SPLIT_RULES = {
    "stard_train.jsonl": HASH_RULE,
    "domain_dev.jsonl": ODD_RULE,
    "domain_lay_dev.jsonl": ODD_RULE,
}
SPLITS = ("all", "train", "heldout")
#: The rule in one line, as model manifests record it.
SPLIT_SUMMARY = (f"eval/splits.py: STARD hash bucket < {HASH_HELDOUT_SHARE} held out and [{HASH_HELDOUT_SHARE}, "
                 f"{HASH_DEV_END}) dev (not trained on), domain odd half held out")


def heldout_bucket(question_id: str) -> float:
    """A number in [0, 1) fixed by the id alone: the split never depends on the seed,
    the file order or the machine, so held-out questions stay held out across runs."""
    digest = hashlib.sha256(question_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def half_of(question_id: str) -> str:
    """`even` / `odd` by the id's trailing number (`dl-012` → even); ids without one are odd."""
    match = re.search(r"(\d+)$", question_id)
    return "even" if match and int(match.group(1)) % 2 == 0 else "odd"


def rule_for_file(path: str | Path) -> str:
    """The split rule of a question file, by its name (see the module table)."""
    return SPLIT_RULES.get(Path(path).name, HASH_RULE)


def is_heldout(question_id: str, rule: str) -> bool:
    """True when the question is in the held-out part under `rule`."""
    if rule == HASH_RULE:
        return heldout_bucket(question_id) < HASH_HELDOUT_SHARE
    if rule == ODD_RULE:
        return half_of(question_id) == "odd"
    raise ValueError(f"unknown split rule {rule!r}")


def is_dev(question_id: str, rule: str) -> bool:
    """True for the dev slice of the training part (hash rule only; the domain sets are
    too small to spare one)."""
    return rule == HASH_RULE and HASH_HELDOUT_SHARE <= heldout_bucket(question_id) < HASH_DEV_END


def select(questions: Sequence, split: str, rule: str) -> list:
    """The questions of `split` ("all", "train" or "heldout") under `rule`."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if split == "all":
        return list(questions)
    want = split == "heldout"
    return [q for q in questions if is_heldout(q.id, rule) == want]
