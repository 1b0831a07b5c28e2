"""The error a job handler raises for the user's mistake (its own module, so the API process
can recognise it without importing the handlers, which load pandas and the engine)."""

from __future__ import annotations


class JobError(ValueError):
    """A problem with the job's input or parameters: its message is shown to the user."""
