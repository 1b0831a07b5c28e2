"""The web application: the platform in a browser, for people who do not write Python.

Served by ``avatars serve`` at ``/`` (the REST API stays under ``/api``, the S3 endpoint under
``/storage``). A person logs in (or resets a forgotten password), sees their runs, uploads a
CSV or Parquet file (drag and drop, with a progress bar), checks the detected column types and
the identifiers flagged with the safe choices, takes the advice (the shape rule, or the
parameters measured for a privacy target: an advice job, whose page follows it) or sets k/ncp
and the other parameters, follows the run live, reads the verdict, the metrics with their
targets and the figures, and downloads the avatars and the reports. Also: API keys, the
organization's users (administrators), the audit log; English and French.

- :mod:`.pages`     the routes (server-rendered Jinja2 pages, a little plain JavaScript)
- :mod:`.session`   the session cookie and CSRF tokens, tied to the login sessions of the API
- :mod:`.runs`      tables, runs, advice jobs and results as the pages see them, over the
                    services
- :mod:`.analysis`  what the engine says about a table and a run (the one place to swap when
                    identifier detection, targeted advice and verdicts land in the engine)
- :mod:`.i18n`      the pages' strings in English and French

A run and the measured advice are jobs on the platform's queue, run by the job workers, never
in the API process (the check page's inspection of a table, its identifier detection and the
shape rule, still runs in the request, cached per file).

Nothing is loaded from another host: the pages, their style and script, and the figures (with
plotly.js inline, the default ``AVATAR_FIGURES_PLOTLYJS=inline``) all come from this server.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    """Mount the web pages at ``/`` and their static files at ``/static``."""
    from avatars.server.web.pages import router

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="web-static")
