"""Which handlers run a job: a linked schema's (several tables, links, keys, series tables)
go to :mod:`avatars.server.jobs.linked`, every other one to
:mod:`avatars.server.jobs.handlers`. The worker calls :func:`run_handler`."""

from __future__ import annotations

from avatars.server.jobs import handlers, linked
from avatars.server.jobs.handlers import JobError, JobInput


def run_handler(job: JobInput) -> dict[str, list[str]]:
    """Run the job; its outputs as ``{result kind: [storage keys]}``."""
    doc = job.resources.parameters(job.parameters_name)
    if doc is None:
        raise JobError(f"the set has no parameters document named '{job.parameters_name}'")
    if linked.applies(job, doc):
        return linked.run_linked(job, doc)
    return handlers.run_handler(job)
