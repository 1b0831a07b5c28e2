"""``avatars demo``: the whole platform on one bundled table, end to end.

It starts the embedded platform (``avatars serve``: SQLite, a storage folder, local workers) on
a free loopback port in a fresh data folder, logs in as a demo admin with our SDK, uploads a
bundled table through the S3 endpoint, runs the avatarization, the privacy and signal metrics
and the reports as jobs, prints every metric with its target and verdict, saves the avatars and
the reports, and stops the platform.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import typer

AIDS_CATEGORIES = (
    "hemo", "homo", "drugs", "karnof", "oprior", "z30", "race", "gender", "str2", "strat",
    "symptom", "treat", "offtrt", "r", "cens", "arms",
)  # fmt: skip

#: table → (column types ("*": every column), avatarization parameters, columns left out):
#: the paper's settings where it has some.
DEMOS: dict[str, tuple[dict[str, str], dict[str, Any], list[str]]] = {
    # the paper's WBCD setting: every score is a category (an MCA), k = 20, ncp = 2
    "wbcd": ({"*": "category"}, {"k": 20, "ncp": 2}, ["Sample_code_number"]),
    # the paper's AIDS setting: variables with at most 10 values are categories (a FAMD)
    "aids": (
        {c: "category" for c in AIDS_CATEGORIES},
        {"k": 20, "ncp": 5},
        ["pidnum", "zprior"],  # an identifier, and a constant column
    ),
    "iris": ({}, {"k": 10, "ncp": 4}, []),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_platform(data_dir: Path, email: str, password: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "AVATAR_DATA_DIR": str(data_dir),
        "AVATAR_ADMIN_EMAIL": email,
        "AVATAR_ADMIN_PASSWORD": password,
    }
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - owned by the server process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "avatars.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((data_dir / "server.log").read_text(errors="replace")[-3000:])
        try:
            if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                return process, base_url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the platform did not start within 60 s")


def demo(
    dataset: Annotated[str, typer.Option(help="Bundled table: aids, wbcd or iris.")] = "aids",
    output: Annotated[Path, typer.Option(help="Folder for the avatars and reports.")] = Path(
        "avatars-demo"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the run (same seed, same avatars).")] = 0,
) -> None:
    """Avatarize a bundled table through the embedded platform and show its metrics."""
    from avatars import data
    from avatars.engine.cli import format_metrics_table
    from avatars.manager import Manager
    from avatars.protocol.enums import ReportType

    if dataset not in DEMOS:
        raise typer.BadParameter(f"choose one of {', '.join(DEMOS)}", param_hint="--dataset")
    types, parameters, dropped = DEMOS[dataset]
    table = data.load(dataset).drop(columns=dropped)
    if "*" in types:
        types = {column: types["*"] for column in table.columns}
    output.mkdir(parents=True, exist_ok=True)
    email, password = "demo@avatars.local", secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="avatars-demo-") as folder:
        typer.echo("starting the embedded platform (SQLite, local storage, local workers)...")
        process, base_url = _start_platform(Path(folder), email, password)
        try:
            manager = Manager(base_url)
            manager.authenticate(email, password)
            typer.echo(f"platform up at {base_url}; {manager.get_health()}")
            runner = manager.create_runner(f"demo-{dataset}", seed=seed)
            runner.add_table(dataset, table, types=types)
            runner.set_parameters(dataset, **parameters)
            shown = ", ".join(f"{k}={v}" for k, v in parameters.items())
            typer.echo(
                f"avatarizing {dataset} ({len(table)} rows × {table.shape[1]} columns, {shown})"
            )
            started = time.monotonic()
            runner.run()
            avatars = runner.shuffled(dataset)
            privacy = runner.privacy_metrics(dataset)[0]
            signal = runner.signal_metrics(dataset)[0]
            avatars.to_csv(output / f"{dataset}.avatars.csv", index=False)
            report = runner.download_report(str(output / "report.pdf"))
            html = runner.download_html_report(str(output / "report.html"))
            pia = runner.download_report(
                str(output / f"{dataset}.pia.docx"), report_type=ReportType.PIA
            )
            elapsed = time.monotonic() - started
        finally:
            process.terminate()
            process.wait(timeout=30)
    metrics = [SimpleNamespace(**m) for m in [*privacy["metrics"], *signal["metrics"]]]
    typer.echo("")
    typer.echo(format_metrics_table(metrics))
    passed = [m for m in privacy["metrics"] if m.get("passed") is not None]
    failed = [m["name"] for m in passed if not m["passed"]]
    typer.echo("")
    typer.echo(
        f"{len(passed) - len(failed)} of {len(passed)} privacy targets met"
        + (f" (not met: {', '.join(failed)})" if failed else "")
        + f"; jobs took {elapsed:.1f} s"
    )
    typer.echo(f"avatars:  {output / f'{dataset}.avatars.csv'} ({len(avatars)} rows)")
    typer.echo(f"reports:  {', '.join([*report, html, *pia])}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
