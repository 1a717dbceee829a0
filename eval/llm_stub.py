"""A stand-in model server for tests and for measuring the citation check without a model.

`StubServer` is a small OpenAI-compatible `/v1/chat/completions` endpoint (`http.server`
in a thread, 127.0.0.1, a free port) whose answers come from a `respond` function; it
records every request (path, prompt kind, body, Authorization header). The tests of
issue 17 (`tests/test_llm.py`) script it with invented references, malformed JSON, delays
and HTTP 500s.

`python -m eval.llm_stub QUESTIONS --index-dir DIR --out OUT [--shift N]` runs
`fagui eval --llm` against `faithful_responder`: a "model" that writes the deterministic
结论 lines it is sent as prose, citing each basis in turn as `《全称》第X条`, `《简称》第X条`
and `简称第N条` (Arabic digits; in 《》 when the title itself holds 《》) — with `--shift N`, every article number off by N (a model that invents
plausible numbers). With shift 0 a correct check removes nothing; with a shift, what it
still lets through is a shifted number that happens to be another evidence article.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from assistant.refs import split_ref
from corpus.numerals import article_label, parse_article_label

REWRITE_MARK = "查询改写器"  # words of prompts/rewrite_v1.md that tell the two prompts apart


@dataclass(frozen=True)
class Reply:
    """One scripted completion: its text, HTTP status and a delay before answering."""

    content: str = ""
    status: int = 200
    delay: float = 0.0


Responder = Callable[[str, str, str], Reply]  # (kind: rewrite | answer, system, user) → Reply


class StubServer:
    """OpenAI-compatible chat completions on 127.0.0.1; use as a context manager."""

    def __init__(self, respond: Responder):
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                system, user = body["messages"][0]["content"], body["messages"][1]["content"]
                kind = "rewrite" if REWRITE_MARK in system else "answer"
                stub.requests.append({"path": self.path, "kind": kind, "body": body,
                                      "authorization": self.headers.get("Authorization")})
                reply = respond(kind, system, user)
                time.sleep(reply.delay)
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply.content}}]},
                                  ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeouts)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="llm-stub", daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "StubServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def scripted(rewrite: list[Reply], answer: list[Reply]) -> Responder:
    """Replies in order per prompt kind; an empty reply once a script is used up."""
    scripts = {"rewrite": list(rewrite), "answer": list(answer)}
    return lambda kind, system, user: scripts[kind].pop(0) if scripts[kind] else Reply()


_CONCLUSION_RE = re.compile(r"^- 结论\[(.+?)\] (.*) — 依据 (.+)$")


def faithful_responder(shift: int = 0) -> Responder:
    """Rewrites: the question's first clause. Answers: the 结论 lines as prose with their
    bases cited in three written forms in turn, article numbers moved by `shift`."""
    counter = iter(range(10**9))

    def cite(ref: str) -> str:
        parts = split_ref(ref)
        if parts is None:
            return ""
        law, article = parts
        number, suffix = parse_article_label(article)
        article = article_label(number + shift, suffix) if shift else article
        short = law.replace("中华人民共和国", "")
        arabic = f"第{number + shift}条" + (article[article.index("条") + 1:] if suffix else "")  # 第253条之一
        # without book-title marks only for a title that holds none (as a writer would)
        bare = f"{short}{arabic}" if "《" not in law else f"《{short}》{arabic}"
        return (f"《{law}》{article}", f"《{short}》{article}", bare)[next(counter) % 3]

    def respond(kind: str, system: str, user: str) -> Reply:
        if kind == "rewrite":
            question = user.removeprefix("问题：")
            return Reply(json.dumps({"queries": [re.split(r"[，。？]", question)[0][:40]]}, ensure_ascii=False))
        sentences = []
        for line in user.splitlines():
            match = _CONCLUSION_RE.match(line)
            cites = [c for c in (cite(ref) for ref in match.group(3).split("、")) if c] if match else []
            if cites:
                sentences.append(f"{match.group(2)}，依据{'、'.join(cites)}。")
        return Reply("".join(sentences) or "无。")

    return respond


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[-1], prog="python -m eval.llm_stub")
    parser.add_argument("questions")
    parser.add_argument("--collection", default="default")
    parser.add_argument("--index-dir")
    parser.add_argument("--out", required=True)
    parser.add_argument("--shift", type=int, default=0, help="move every cited article number by this much")
    args = parser.parse_args(argv)
    # `fagui eval` in a child process: the command line sits above this package, and the
    # child reaches the stub over HTTP exactly as it would reach a real model server
    with StubServer(faithful_responder(args.shift)) as stub:
        extra = ["--index-dir", args.index_dir] if args.index_dir else []
        command = [sys.executable, "-m", "assistant.cli", "eval", args.questions, "--collection", args.collection,
                   *extra, "--llm", "--llm-base-url", stub.url, "--llm-model", f"faithful-stub-shift{args.shift}",
                   "--quiet", "--out", args.out]
        return subprocess.run(command, check=False).returncode


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
