"""Which handlers run a job: a multi-table schema's (several tables, linked or independent;
links; series tables) go to :mod:`avatars.server.jobs.linked`, a differentially private
avatarization of one table to :mod:`avatars.server.jobs.dp`, every other one to
:mod:`avatars.server.jobs.handlers`, as does an advice with targets on tables that no link
joins (searched table by table). The worker calls :func:`run_handler`."""

from __future__ import annotations

from avatars.protocol.documents import AvatarizationDocument
from avatars.server.jobs import dp, handlers, linked
from avatars.server.jobs.handlers import JobError, JobInput
from avatars.server.jobs.privacy_budget import asks_for_dp


def run_handler(job: JobInput) -> dict[str, list[str]]:
    """Run the job; its outputs as ``{result kind: [storage keys]}``."""
    doc = job.resources.parameters(job.parameters_name)
    if doc is None:
        raise JobError(f"the set has no parameters document named '{job.parameters_name}'")
    if linked.searches_each_table(job, doc):
        return handlers.run_handler(job)  # targeted advice, one table at a time
    if linked.applies(job, doc):
        if isinstance(doc, AvatarizationDocument):
            tables = linked.schema_tables(job, doc) or []
            dp.refuse_linked(doc.spec, linked=linked.has_links(tables))
        return linked.run_linked(job, doc)
    if isinstance(doc, AvatarizationDocument) and asks_for_dp(doc.spec):
        return dp.run_dp_standard(job, doc)
    return handlers.run_handler(job)
