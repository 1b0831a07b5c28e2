"""S3 error codes as an exception, so that any layer can abort a request with the exact
code, status and message an S3 client expects (s3fs maps codes to Python exceptions:
``NoSuchKey`` -> ``FileNotFoundError``, ``AccessDenied`` -> ``PermissionError``...)."""

from __future__ import annotations


class S3Error(Exception):
    """An S3 error response: ``<Error><Code>…</Code><Message>…</Message>…</Error>``."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        #: Extra response headers (``Content-Range`` on 416, ...).
        self.headers = dict(headers or {})
        #: Extra child elements of ``<Error>`` (``Key``, ``Condition``, ``UploadId``...).
        self.extra = dict(extra or {})


# -- the errors this endpoint raises, with S3's status codes ---------------------------------


def access_denied(message: str = "Access Denied") -> S3Error:
    return S3Error("AccessDenied", message, 403)


def no_such_key(key: str) -> S3Error:
    return S3Error("NoSuchKey", "The specified key does not exist.", 404, extra={"Key": key})


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed.",
        404,
        extra={"UploadId": upload_id},
    )


def invalid_argument(message: str) -> S3Error:
    return S3Error("InvalidArgument", message, 400)


def invalid_request(message: str) -> S3Error:
    return S3Error("InvalidRequest", message, 400)


def malformed_xml() -> S3Error:
    return S3Error(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our "
        "published schema.",
        400,
    )


def not_implemented(what: str) -> S3Error:
    return S3Error("NotImplemented", f"{what} is not implemented by this server.", 501)


def incomplete_body(
    message: str = "You did not provide the number of bytes specified by "
    "the Content-Length HTTP header.",
) -> S3Error:
    return S3Error("IncompleteBody", message, 400)


def entity_too_large(limit: int) -> S3Error:
    return S3Error(
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed object size.",
        400,
        extra={"MaxSizeAllowed": str(limit)},
    )


def bad_digest(algorithm: str) -> S3Error:
    return S3Error(
        "BadDigest", f"The {algorithm} you specified did not match the calculated checksum.", 400
    )


def precondition_failed(condition: str) -> S3Error:
    return S3Error(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        412,
        extra={"Condition": condition},
    )


def internal_error() -> S3Error:
    return S3Error("InternalError", "We encountered an internal error. Please try again.", 500)


def storage_unavailable() -> S3Error:
    """The store behind the endpoint failed (down, unreachable): the client may retry."""
    return S3Error("ServiceUnavailable", "The storage backend is unavailable; retry later.", 503)
