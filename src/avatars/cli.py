"""The ``avatars`` command line: serve the platform, manage users and keys, avatarize a file.

Each group lives next to what it drives (``avatars.server.cli`` for the platform); this module
only assembles them, so ``avatars --help`` works with the SDK-only install and says which
extra a command needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel

app = typer.Typer(
    name="avatars",
    help="The open Avatar platform: anonymize tables by the avatar method and prove it.",
    no_args_is_help=True,
    add_completion=False,
)


def _unavailable(name: str, extra: str, reason: ModuleNotFoundError) -> None:
    """Register ``name`` as a command that explains which extra to install."""
    if (reason.name or "").startswith("avatars"):
        raise reason  # our own code is broken: never hide that behind an install hint

    def command() -> None:
        typer.secho(
            f"'avatars {name}' needs the '{extra}' extra ({reason.name} is not installed): "
            f"pip install 'avatars[{extra}]'",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(code=1)

    app.command(name, help=f"(needs: pip install 'avatars[{extra}]')")(command)


def _check_parameters(pieces: Mapping[str, Any]) -> None:
    """The parameters ``avatars avatarize``'s flags set, checked by the protocol's models: the
    ranges and the wording of the server and the SDK (``ParameterError``). The engine's CLI
    may not import them itself (the engine imports no pydantic model)."""
    from avatars.protocol.errors import validate_parameters
    from avatars.protocol.parameters import (
        AvatarizationOpenDPParameters,
        DataAugmentation,
        Imputation,
        PrivacyMetricsParameters,
    )

    models: dict[str, type[BaseModel]] = {
        "imputation": Imputation,
        "data_augmentation": DataAugmentation,
        "privacy_metrics": PrivacyMetricsParameters,
        "differential_privacy": AvatarizationOpenDPParameters,
    }
    for name, values in pieces.items():
        if name == "differential_privacy":  # its other fields are the CLI's own flags
            values = {"epsilon": 1.0, **values}
        validate_parameters(models[name], values, prefix=name)


try:
    from avatars.engine.cli import register as _register_engine
except ModuleNotFoundError as missing:  # the SDK-only install has no numpy/scipy/...
    _unavailable("avatarize", "engine", missing)
    _unavailable("advise", "engine", missing)
else:
    _register_engine(app, check_parameters=_check_parameters)

try:
    from avatars.server.cli import register as _register_server
except ModuleNotFoundError as missing:
    _unavailable("serve", "server", missing)
    _unavailable("demo", "server", missing)
else:
    from avatars.demo import register as _register_demo

    _register_server(app)
    _register_demo(app)

try:
    from avatars.mcp.cli import register as _register_mcp
except ModuleNotFoundError as missing:  # no FastMCP (the 'mcp' extra) or no engine
    _unavailable("mcp", "mcp", missing)
else:
    _register_mcp(app)


if __name__ == "__main__":  # pragma: no cover
    app()
