"""Who may reach the app: credentials, the bind check, HTTP Basic on every route, and the
rule for model-server URLs typed into the page.

Kept apart from the page and its handlers so the safety rules of `fagui serve` can be
read (and tested) in one place; nothing here imports Gradio.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
from urllib.parse import urlsplit

from corpus.errors import UsageError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`user:password` → (user, password); None for empty; UsageError when malformed."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise UsageError("--auth / FAGUI_AUTH must look like user:password")
    return user, password


def check_bind(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse to serve beyond this machine without credentials."""
    if host not in LOCAL_HOSTS and auth is None:
        raise UsageError(f"binding to {host} exposes the app to the network; give --auth user:password (or FAGUI_AUTH)")


class BasicAuthMiddleware:
    """HTTP Basic authentication on every route (page, API, source view, files).

    One check in front of everything, rather than Gradio's login page, so the source
    and page-image routes are protected exactly like the app. Comparison is constant-time.
    """

    def __init__(self, app, user: str, password: str, realm: str = "fagui"):
        self.app = app
        self.expected = base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
        self.realm = realm

    def _authorised(self, scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "basic":
                    return False
                try:
                    base64.b64decode(token, validate=True)
                except (binascii.Error, ValueError):
                    return False
                return secrets.compare_digest(token.strip(), self.expected)
        return False

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"www-authenticate", f'Basic realm="{self.realm}"'.encode()),
                                (b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "http.response.body", "body": "需要登录 / authentication required".encode("utf-8")})


def loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is this machine's loopback (127.0.0.0/8, ::1, localhost).

    The page may point the optional model at this machine only: a URL typed by a visitor
    must not make the server send questions and articles elsewhere (or probe the intranet)."""

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
