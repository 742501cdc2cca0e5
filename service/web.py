"""The investigator web page (GitHub issue 7): one static page at ``/`` over the JSON API.

The page (``service/static/index.html``, ``app.js`` with its ES modules in ``js/``, ``app.css``) asks
for an API key once, keeps it in the browser's localStorage and calls the ``/v1`` API with the
``X-API-Key`` header, like any other client: this module adds no data routes and no way around the
key check. Third-party
libraries (cytoscape) are copied from ``web/node_modules`` into ``service/static/vendor/`` by
``web/build.sh``; nothing is loaded from the internet.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_FILES = ("vendor/cytoscape.min.js", "vendor/swagger-ui-bundle.js", "vendor/swagger-ui.css")

# The page only ever talks to its own origin. Styles may be inline (cytoscape sizes its canvas
# through element styles); scripts may not.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    # The page accepts ?key=... for convenience; never leak it to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class _StaticFiles(StaticFiles):
    """StaticFiles that revalidates (the page's own files change with each release) and says
    ``nosniff``."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", "no-cache")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


def vendor_missing(static_dir: Path = STATIC_DIR) -> list[str]:
    """The vendor files the page needs that ``web/build.sh`` has not copied yet (relative paths)."""
    return [name for name in VENDOR_FILES if not (static_dir / name).is_file()]


def add_web(app: FastAPI) -> None:
    """Serves the investigator page at ``/`` and its assets under ``/static``.

    Call once on an app from :func:`service.app.create_app`. The page works without the vendor
    files too, but then shows that the graph cannot be drawn (run ``web/build.sh``).
    """
    index = STATIC_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    async def web_page() -> FileResponse:
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    app.mount("/static", _StaticFiles(directory=STATIC_DIR), name="static")
