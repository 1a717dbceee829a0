"""Optional local language model: settings, the one HTTP call, and the prompt files.

fagui answers completely without a model. When an OpenAI-compatible server is
configured (vLLM, llama.cpp server, Ollama, an appliance on the intranet), two steps
may use it (see `assistant.llm_answer`): rewriting a lay question into legal queries,
and writing the verified analysis as a short paragraph.

* Settings are read in ONE place, `LLMSettings.resolve`: explicit values (CLI flags,
  the app's settings panel) first, then `FAGUI_LLM_BASE_URL`, `FAGUI_LLM_MODEL`,
  `FAGUI_LLM_API_KEY`, `FAGUI_LLM_TIMEOUT`. Without a base URL it returns None and
  nothing is ever called.
* `chat` is a plain `httpx` POST to `/v1/chat/completions` with a hard deadline: the
  request runs in a daemon thread and the caller gets an `LLMError` once the deadline
  passes, whatever the server does (a stalled server cannot hold an answer longer than
  the configured seconds). Proxy variables are ignored: the question must go to the
  configured server and nowhere else.
* Prompts are versioned files under `assistant/prompts/` (`NAME_vN.md`); their name and
  content hash are recorded with every result that used them.
"""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from corpus import config
from corpus.errors import UsageError

ENV_BASE_URL, ENV_MODEL, ENV_API_KEY, ENV_TIMEOUT = (
    config.LLM_BASE_URL, config.LLM_MODEL, config.LLM_API_KEY, config.LLM_TIMEOUT)
#: Seconds of model time one answer may spend in total (rewriting + writing). Short on
#: purpose: the deterministic answer is complete, the model only improves it.
DEFAULT_TIMEOUT = 20.0
CONNECT_TIMEOUT = 5.0  # a server that does not accept the connection is down; do not wait for it
PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
_THINK_RE = re.compile(r"<think>.*?</think>", re.S)  # reasoning models (Qwen3, DeepSeek-R1) emit these first


class LLMError(Exception):
    """The model server could not give a usable completion (down, slow, HTTP error, bad body)."""


@dataclass(frozen=True)
class LLMSettings:
    """Where the model server is and which steps use it; `api_key` is never shown or recorded."""

    base_url: str
    model: str
    api_key: str = ""
    timeout: float = DEFAULT_TIMEOUT
    rewrite: bool = True  # question → legal queries fused into retrieval
    write: bool = True  # the written answer (verified citations only)

    @classmethod
    def resolve(cls, *, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                timeout: float | None = None, rewrite: bool = True, write: bool = True,
                environ: Mapping[str, str] | None = None) -> "LLMSettings | None":
        """The settings from explicit values, then the environment; None when no base URL
        is configured (then no step calls anything). A base URL without a model, a URL
        that is not http(s), or a non-positive timeout is a ValueError naming the setting."""
        env = config.llm_environment(environ)
        url = (base_url or env.get(ENV_BASE_URL, "")).strip()
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"{ENV_BASE_URL} / --llm-base-url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {url!r}")
        name = (model or env.get(ENV_MODEL, "")).strip()
        if not name:
            raise UsageError(f"a model server is configured ({url}) but no model: set {ENV_MODEL} or --llm-model")
        seconds = timeout if timeout is not None else _float_env(env, ENV_TIMEOUT, DEFAULT_TIMEOUT)
        if not seconds > 0:
            raise UsageError(f"{ENV_TIMEOUT} / --llm-timeout must be a positive number of seconds, got {seconds!r}")
        key = api_key if api_key is not None else env.get(ENV_API_KEY, "")
        return cls(base_url=url, model=name, api_key=key.strip(), timeout=float(seconds), rewrite=rewrite, write=write)

    @property
    def endpoint(self) -> str:
        """`…/v1/chat/completions`, whether the base URL was given with or without `/v1`."""
        base = self.base_url.rstrip("/")
        return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"

    def describe(self) -> dict[str, Any]:
        """What is recorded with an answer or an evaluation run (no API key)."""
        return {"base_url": self.base_url, "model": self.model, "timeout_s": self.timeout,
                "rewrite": self.rewrite, "write": self.write}


def configured_server(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(base URL, model) as configured in the environment, for pre-filling the app's
    settings panel; ("", "") when nothing is configured."""
    env = config.llm_environment(environ)
    return env.get(ENV_BASE_URL, "").strip(), env.get(ENV_MODEL, "").strip()


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise UsageError(f"{name} must be a number of seconds, got {raw!r}") from None


class Deadline:
    """The model-time budget of one answer, shared by its steps: only the time spent
    waiting for the model counts (`spend`), not retrieval between the steps."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.spent = 0.0

    def remaining(self) -> float:
        return max(0.0, self.seconds - self.spent)

    def spend(self, seconds: float) -> None:
        self.spent += max(0.0, seconds)


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt file: `name` (`answer_v1`), its text and a content hash."""

    name: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def describe(self) -> dict[str, str]:
        return {"prompt": self.name, "prompt_sha256": self.sha256[:12]}


def load_prompt(name: str) -> Prompt:
    """Read `assistant/prompts/NAME.md`; a missing file is an error naming it."""
    path = PROMPTS_DIR / f"{name}.md"
    try:
        return Prompt(name=name, text=path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise LLMError(f"prompt file {path} cannot be read: {exc}") from None


def chat(settings: LLMSettings, system: str, user: str, *, seconds: float, max_tokens: int = 800) -> str:
    """One chat completion (temperature 0), returned as text without `<think>` blocks.

    Returns within `seconds` in every case: the POST runs in a daemon thread and an
    unfinished call raises `LLMError` at the deadline (the thread ends by httpx's own
    timeout later). Every failure — refused connection, HTTP status, a body that is not
    a completion — is an `LLMError` with a short reason for the visible note."""
    if seconds <= 0:
        raise LLMError("no model time left for this answer")
    payload = {"model": settings.model, "temperature": 0, "max_tokens": max_tokens, "stream": False,
               "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    outcome: dict[str, Any] = {}

    def post() -> None:
        # httpx only when a model server is configured
        import httpx

        try:
            timeout = httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))
            with httpx.Client(timeout=timeout, trust_env=False) as client:
                outcome["response"] = client.post(settings.endpoint, json=payload, headers=headers)
        except Exception as exc:  # noqa: BLE001 — any transport failure becomes the note, see docstring
            outcome["error"] = exc

    worker = threading.Thread(target=post, name="fagui-llm", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive() or not outcome or _is_timeout(outcome.get("error")):
        raise LLMError(f"no answer from the model server within {seconds:.1f} s")
    if "error" in outcome:
        raise LLMError(f"model server not reachable ({type(outcome['error']).__name__}: {outcome['error']})")
    return _completion_text(outcome["response"])


def _is_timeout(error: Exception | None) -> bool:
    # httpx only when a model server is configured
    import httpx

    return isinstance(error, httpx.TimeoutException)


def _completion_text(response) -> str:
    """`choices[0].message.content` of an OpenAI-style response, or LLMError saying why not."""
    if response.status_code != 200:
        raise LLMError(f"model server answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LLMError(f"model server sent no chat completion: {response.text[:200]}") from None
    if not isinstance(content, str):
        raise LLMError("model server sent a completion without text")
    return _THINK_RE.sub("", content).strip()
