"""Scale-out tests: every server here runs on PostgreSQL + SeaweedFS (S3) + a Dask cluster.

The stack (``scaleout_stack``, ``local_postgres``) is shared with the rest of the session; a
test that stops one of its services must bring it back before it ends.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", params=[pytest.param("scaleout", marks=pytest.mark.scaleout)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
