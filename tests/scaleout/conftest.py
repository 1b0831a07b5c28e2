"""Scale-out tests: every server here runs on PostgreSQL + SeaweedFS (S3) + a Dask cluster
(each test module says so with ``pytestmark = pytest.mark.backends("scaleout")``).

The stack (``scaleout_stack``, ``local_postgres``) is shared with the rest of the session; a
test that stops one of its services must bring it back before it ends.
"""
