"""The interactive API documentation (Swagger UI) at ``/api/docs``, served from the package.

FastAPI's default page loads Swagger UI from a CDN: it breaks offline and runs a third
party's code on the platform's origin. Here the assets ship in ``static/swagger-ui`` (see its
README) and the page allows scripts from this server only, with no inline script.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "swagger-ui"

#: What the page may load: its own scripts, styles and images, and the API it documents.
#: Swagger UI sets ``style`` attributes (hence 'unsafe-inline' for styles, not scripts) and
#: draws icons as ``data:`` SVG images.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI, prefix: str = "/api") -> None:
    """``{prefix}/docs`` and its assets under ``{prefix}/docs/assets`` (the page's URLs are
    relative, so it also works behind a proxy that mounts the API elsewhere)."""
    page = _PAGE.format(title=app.title)
    app.mount(f"{prefix}/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get(f"{prefix}/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})
