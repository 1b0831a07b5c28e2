"""Resource facades of :class:`avatars.client.ApiClient`, one module per resource.

Method names and parameters are those of Octopize's official client (protocol.md §2.3), so
``client.jobs.get_jobs().jobs`` or ``client.results.get_results(name)`` read the same with
either SDK. Each facade is a thin, typed layer: the transport (auth, retries, decoding) is the
client's, and responses are parsed into the shared wire models of :mod:`avatars.models`.
"""

from avatars.api.api_keys import ApiKeys
from avatars.api.auth import Auth
from avatars.api.compatibility import Compatibility
from avatars.api.datasets import Datasets
from avatars.api.event_logs import EventLogs
from avatars.api.health import Health
from avatars.api.jobs import Jobs
from avatars.api.openapi import Openapi
from avatars.api.resources import Resources
from avatars.api.results import Results
from avatars.api.users import Users

__all__ = [
    "ApiKeys",
    "Auth",
    "Compatibility",
    "Datasets",
    "EventLogs",
    "Health",
    "Jobs",
    "Openapi",
    "Resources",
    "Results",
    "Users",
]
