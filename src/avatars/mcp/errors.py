"""The one error a tool shows as it is: :class:`UsageError`, a short sentence saying what was
wrong with the call and what to do instead. Anything else is a bug: logged with its
traceback, and shown to the model as an internal error (``server.tool_errors``)."""

from __future__ import annotations


class UsageError(Exception):
    """A call the tools cannot serve as asked (unknown run, missing file, refused column...).

    The message is shown to the model verbatim: one or two sentences, naming the argument and
    the way out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
