"""The ``avatars`` command line: serve the platform, manage users and keys, avatarize a file.

Each group lives next to what it drives (``avatars.server.cli`` for the platform); this module
only assembles them, so ``avatars --help`` works with the SDK-only install and says which
extra a command needs.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="avatars",
    help="The open Avatar platform: anonymize tables by the avatar method and prove it.",
    no_args_is_help=True,
    add_completion=False,
)


def _register_server_commands() -> None:
    try:
        from avatars.server.cli import register
    except ImportError:  # the SDK-only install has no server
        return
    register(app)


def _register_engine_commands() -> None:
    try:
        from avatars.engine.cli import register
    except ImportError:  # the SDK-only install has no engine
        return
    register(app)


_register_engine_commands()
_register_server_commands()


if __name__ == "__main__":  # pragma: no cover
    app()
