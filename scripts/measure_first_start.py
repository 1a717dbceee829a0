"""Fresh-start measurement of `fagui serve` (issue 13): time to the first answer, to full
hybrid, peak RSS (server process and its whole process tree), index size on disk.

Usage: python scripts/measure_first_start.py FAGUI_HOME PORT COLLECTION

FAGUI_HOME must not exist. Starts `fagui serve` there, asks through the page's HTTP API
(gradio_client) until the first answer arrives (by BM25: the vectors are embedded in the
background), polls the status line until the vectors are in, asks until an answer is
hybrid, waits 10 s and records the server's steady RSS, then stops it. Prints one JSON
line per event (wall seconds since the start, CPU seconds of the server and its children,
load average, RSS of the server and of its process tree) and a summary, also
written to FAGUI_HOME.json; the server's output goes to FAGUI_HOME.serve.log. Wall time
depends on what else runs on the machine, so the CPU seconds and load are reported too.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from corpus.config import child_environment

QUESTION = "受托企业泄露政务数据，委托的行政机关要承担什么责任？"
MODE_NOTE = re.compile(r"模式 ([^<]*)</p>")


def process_tree(pid: int) -> list[int]:
    """The process and all its live descendants (from /proc)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except OSError:
            pass
    return out


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """user+system CPU of the server and its live children, plus its reaped children
    (the tokenising workers of the BM25 build)."""
    total = 0.0
    for current in process_tree(pid):
        try:
            with open(f"/proc/{current}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12])
        if current == pid:
            ticks += int(fields[13]) + int(fields[14])
        total += ticks / os.sysconf("SC_CLK_TCK")
    return round(total, 1)


def disk_mb(path: Path) -> float:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]) / 1e6


class Run:
    """One measured `fagui serve`: events with wall time, CPU time and load; peak RSS."""

    def __init__(self, home: Path, port: int, collection: str):
        self.home, self.port, self.collection = home, port, collection
        self.events: list[dict] = []
        self.peak = {"server": 0.0, "tree": 0.0}
        self._stop = threading.Event()
        self.started = time.monotonic()
        env = child_environment(FAGUI_HOME=str(home), CI="true")
        self.log = open(Path(f"{home}.serve.log"), "w")
        self.server = subprocess.Popen(["fagui", "serve", "--collection", collection, "--port", str(port), "--quiet"],
                                       env=env, stdout=self.log, stderr=subprocess.STDOUT)
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak["server"] = max(self.peak["server"], rss_mb(self.server.pid))
            self.peak["tree"] = max(self.peak["tree"], sum(rss_mb(p) for p in process_tree(self.server.pid)))
            time.sleep(0.5)

    def mark(self, name: str, **extra) -> None:
        with open("/proc/loadavg") as handle:
            load = handle.read().split()[0]
        self.events.append({"event": name, "t": round(time.monotonic() - self.started, 1),
                            "cpu_s": cpu_seconds(self.server.pid), "load1": load,
                            "rss_mb": round(rss_mb(self.server.pid)),
                            "tree_rss_mb": round(sum(rss_mb(p) for p in process_tree(self.server.pid))), **extra})
        print(json.dumps(self.events[-1], ensure_ascii=False), flush=True)

    def ask(self, client) -> tuple[str, str]:
        analysis, evidence, *_ = client.predict(QUESTION, self.collection, "hybrid", 10, [], "", [], api_name="/do_ask")
        note = MODE_NOTE.search(analysis)
        return (note.group(1) if note else ""), evidence

    def measure(self) -> dict:
        from gradio_client import Client

        client = None
        while client is None:
            try:
                client = Client(f"http://127.0.0.1:{self.port}", verbose=False)
            except Exception:  # noqa: BLE001 — the server is not up yet
                time.sleep(0.5)
        self.mark("page_up")
        while True:
            mode, evidence = self.ask(client)
            if evidence and "evidence" in evidence:
                self.mark("first_answer", mode=mode)
                break
            time.sleep(1.0)
        last = ""
        while True:
            text = re.sub(r"<[^>]+>", "", client.predict(self.collection, api_name="/status_html"))
            percent = re.search(r"（(\d+)%", text)
            if percent and percent.group(1)[:-1] != last:
                last = percent.group(1)[:-1]  # one event per ten percent
                self.mark("vectors", status=text)
            if "索引就绪" in text and "关键词检索就绪" not in text and "构建" not in text:
                break
            time.sleep(2.0)
        while True:
            mode, _ = self.ask(client)
            if mode.startswith("hybrid"):  # "hybrid + 交叉编码器重排序" when the reranker is on
                self.mark("first_hybrid_answer", mode=mode)
                break
            time.sleep(1.0)
        time.sleep(10.0)  # the old pipeline is dropped; what the server holds from now on
        self.mark("steady")
        self._stop.set()
        self.server.terminate()
        try:
            self.server.wait(60)
        except subprocess.TimeoutExpired:  # open HTTP connections can hold uvicorn's graceful shutdown
            self.server.kill()
            self.server.wait(30)
        return self.summary()

    def summary(self) -> dict:
        index_dir = self.home / "indexes" / self.collection
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        return {
            "events": self.events, "peak_rss_mb": {k: round(v) for k, v in self.peak.items()},
            "index_mb": round(disk_mb(index_dir)),
            "index_without_cache_mb": round(disk_mb(index_dir) - disk_mb(index_dir / "cache")),
            "home_mb": round(disk_mb(self.home)), "passages": manifest["collection"]["passages"],
            "units": manifest["collection"]["units"], "dense": manifest["dense"], "faiss": manifest["faiss"],
            "precision": manifest["model"].get("precision", ""),
        }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    home, port, collection = Path(argv[0]), int(argv[1]), argv[2]
    if home.exists():
        print(f"error: {home} exists; the measurement needs a fresh FAGUI_HOME", file=sys.stderr)
        return 2
    result = Run(home, port, collection).measure()
    print(json.dumps(result, ensure_ascii=False, indent=1))
    Path(f"{home}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
