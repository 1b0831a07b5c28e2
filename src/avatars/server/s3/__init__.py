"""S3-compatible storage endpoint (path-style, SigV4) for the official clients' s3fs uploads.

Mount it in the platform app::

    app.include_router(create_s3_router(storage, resolve_principal), prefix="/storage")
"""

from avatars.server.s3.auth import S3Principal
from avatars.server.s3.multipart import purge_stale_uploads
from avatars.server.s3.router import create_s3_router

__all__ = ["S3Principal", "create_s3_router", "purge_stale_uploads"]
