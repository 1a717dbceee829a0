"""The app's own HTTP routes next to the Gradio page.

* `/fagui/source` — the source view of a unit: the whole document with the unit anchored
  and highlighted and its cross-references as links; shown in the page's side panel (an
  iframe), so citations are ordinary links. Served with a Content-Security-Policy that
  forbids scripts.
* `/fagui/page` — a PDF page rendered as PNG with the unit's region marked.
"""
from __future__ import annotations

from assistant import render
from assistant.app_handlers import FaguiApp

SOURCE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'"


def add_source_routes(api, handlers: FaguiApp) -> None:
    """Register the source view and the page-image route on the FastAPI app `api`."""
    # the web stack only for `fagui serve`
    from fastapi import Query
    from fastapi.responses import HTMLResponse, Response

    default_collection = handlers.config.collection

    @api.get(render.SOURCE_ROUTE)
    def source_view(c: str = Query(default_collection), u: str = Query(""), q: str = Query("")):
        if not u:
            code, page = 200, render.plain_page("点击引用或检索结果，在此查看原文。")
        else:
            code, page = handlers.source_page(c, u, q)
        return HTMLResponse(page, status_code=code, headers={"Content-Security-Policy": SOURCE_CSP,
                                                              "X-Content-Type-Options": "nosniff"})

    @api.get(render.PAGE_ROUTE)
    def page_view(c: str = Query(...), u: str = Query(...), p: int = Query(..., ge=1)):
        try:
            png = handlers.page_image(c, u, p)
        except (LookupError, ValueError) as exc:
            return Response(str(exc), status_code=404, media_type="text/plain; charset=utf-8")
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})
