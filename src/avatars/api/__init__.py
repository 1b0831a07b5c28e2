"""Resource facades of :class:`avatars.client.ApiClient`, one module per resource.

Method names and parameters are those of Octopize's official client (protocol.md §2.3), so
``client.jobs.get_jobs().jobs`` or ``client.results.get_results(name)`` read the same with
either SDK. Each facade is a thin, typed layer over :class:`avatars._http.Transport` (auth,
retries, timeouts, decoding, errors), and responses are parsed into the shared wire models of
:mod:`avatars.protocol.wire`. Facades know nothing of the client: ``ApiClient`` builds the
transport and composes them (:mod:`avatars.api.transfers` moves data through the storage).
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
from avatars.api.transfers import Transfers
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
    "Transfers",
    "Users",
]
