"""Copy the local regulations that the `default` spec's title rule selects from the
shared LawRefBook snapshot into `data/` (the product ships what it searches, so it works
without ../shared). Run from the repository root: `python scripts/ship_local_regulations.py`.

The rule itself lives in `collections/default.json` (`select`); this script only applies
it to `../shared/corpus/lawrefbook/DLC`, keeping each file's relative path.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from corpus.catalog import load_spec
from corpus.config import REPO_ROOT


def main(shared: Path = REPO_ROOT.parent / "shared" / "corpus") -> int:
    spec = load_spec("default")
    copied = 0
    for rule in spec.select:
        prefix = rule.glob.removesuffix("/**")
        for path in sorted((shared / prefix).rglob("*.md")):
            if path.name == "_index.md" or not rule.admits(path):
                continue
            target = REPO_ROOT / "data" / path.relative_to(shared)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied += 1
    print(f"{copied} local regulations shipped under data/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
