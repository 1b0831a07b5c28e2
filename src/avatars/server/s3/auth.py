"""AWS Signature Version 4 verification for the S3 endpoint.

Every request is authenticated before its body is read: a rejected upload therefore never
triggers uvicorn's ``100 Continue`` and the client does not send megabytes for nothing.

The arithmetic (canonical request, string to sign, signing key, HMAC) is botocore's: a
:class:`botocore.auth.S3SigV4Auth` subclass is fed exactly what the client signed (its
``SignedHeaders``, its ``x-amz-content-sha256``, its ``x-amz-date``) and the resulting
signature is compared in constant time. Only the inputs are ours:

* the canonical URI is the *raw* request path as received, including the mount prefix
  (``/storage/...``), because that is what the client signed. A second candidate, the path
  re-encoded with AWS's rules, accepts clients that encode reserved characters differently;
  both decode to the same resource, so accepting either gives the caller no extra reach.
* the canonical query string is rebuilt from the raw query with AWS's encoding rules.

Header auth (``Authorization: AWS4-HMAC-SHA256 ...``) is accepted for every operation;
query-string auth (presigned URLs, ``X-Amz-Algorithm=...``) only for GET and HEAD, which
is what sharing links need.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hmac
import logging
import re
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from avatars.server.s3.errors import S3Error, access_denied, internal_error, invalid_request

logger = logging.getLogger("avatars.server.s3")

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
#: Clock difference tolerated between client and server (S3 uses 15 minutes).
MAX_CLOCK_SKEW = dt.timedelta(minutes=15)
#: Longest validity of a presigned URL (S3's limit: 7 days).
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
_PAYLOAD_KEYWORDS = {
    UNSIGNED_PAYLOAD,
    STREAMING_UNSIGNED_TRAILER,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
}
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
EMPTY_SHA256 = sha256(b"").hexdigest()

_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)


@dataclass(frozen=True)
class S3Principal:
    """Who may use a key pair, as told by the platform's ``resolve_principal``."""

    access_key_id: str
    secret_access_key: str
    user_id: str  # for audit logs
    buckets: frozenset[str]  # buckets this key may touch (the bucket is the owner's user UUID)
    expires_at: dt.datetime | None = None  # tz-aware; expired -> 403 ExpiredToken

    def __repr__(self) -> str:  # never print the secret
        return (
            f"S3Principal(access_key_id={self.access_key_id!r}, user_id={self.user_id!r}, "
            f"buckets={sorted(self.buckets)!r}, expires_at={self.expires_at!r})"
        )


PrincipalResolver = Callable[[str], S3Principal | None]
#: The time key pairs expire by (an aware UTC datetime).
Clock = Callable[[], dt.datetime]


def signature_mismatch(access_key_id: str, string_to_sign: str, canonical: str) -> S3Error:
    # S3 returns the string to sign and the canonical request so a client author can see
    # where their signer differs; neither contains a secret.
    return S3Error(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        403,
        extra={
            "AWSAccessKeyId": access_key_id,
            "StringToSign": string_to_sign,
            "CanonicalRequest": canonical,
        },
    )


def _malformed(message: str) -> S3Error:
    return S3Error("AuthorizationHeaderMalformed", message, 400)


class _VerifyingSigner(S3SigV4Auth):
    """botocore's S3 SigV4 signer, fed with exactly what the client says it signed."""

    def __init__(
        self,
        principal: S3Principal,
        region: str,
        service: str,
        signed_headers: Sequence[tuple[str, str]],
        payload_hash: str,
        canonical_query: str,
    ) -> None:
        credentials = Credentials(principal.access_key_id, principal.secret_access_key)
        super().__init__(credentials, service, region)
        self._signed_headers = signed_headers
        self._payload_hash = payload_hash
        self._canonical_query = canonical_query

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name, value in self._signed_headers:
            headers[name] = value  # email.message semantics: appends repeated headers
        return headers

    def canonical_query_string(self, request: AWSRequest) -> str:
        return self._canonical_query

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash

    def compute(self, method: str, path: str, timestamp: str) -> tuple[str, str, str]:
        """``(signature, string_to_sign, canonical_request)`` for the request with ``path``."""
        request = AWSRequest(method=method, url=f"http://verifier{path}")
        request.context["timestamp"] = timestamp
        canonical = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical)
        return self.signature(string_to_sign, request), string_to_sign, canonical

    def sign_string(self, string_to_sign: str, timestamp: str) -> str:
        """HMAC of an arbitrary string with this request's signing key (chunk signatures)."""
        request = AWSRequest(method="GET", url="http://verifier/")
        request.context["timestamp"] = timestamp
        return self.signature(string_to_sign, request)


class ChunkVerifier:
    """Checks the chained signatures of ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` bodies.

    Each chunk's signature covers its data and the previous signature (the first one chains
    from the request's own ``Signature``), so chunks cannot be dropped, reordered or altered.
    botocore has no server-side helper for this; the string-to-sign is built here and the
    HMAC is still botocore's (:meth:`SigV4Auth.signature`).
    """

    def __init__(self, signer: _VerifyingSigner, timestamp: str, scope: str, seed: str) -> None:
        self._signer = signer
        self._timestamp = timestamp
        self._scope = scope
        self._previous = seed

    def verify_chunk(self, data_sha256_hex: str, signature: str | None) -> bool:
        string_to_sign = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                self._timestamp,
                self._scope,
                self._previous,
                EMPTY_SHA256,
                data_sha256_hex,
            )
        )
        expected = self._signer.sign_string(string_to_sign, self._timestamp)
        ok = signature is not None and hmac.compare_digest(expected, signature.lower())
        self._previous = expected
        return ok

    def verify_trailer(self, canonical_trailer: bytes, signature: str | None) -> bool:
        string_to_sign = "\n".join(
            (
                "AWS4-HMAC-SHA256-TRAILER",
                self._timestamp,
                self._scope,
                self._previous,
                sha256(canonical_trailer).hexdigest(),
            )
        )
        expected = self._signer.sign_string(string_to_sign, self._timestamp)
        return signature is not None and hmac.compare_digest(expected, signature.lower())


@dataclass
class AuthResult:
    principal: S3Principal
    #: ``x-amz-content-sha256`` as signed (``UNSIGNED-PAYLOAD`` for presigned URLs).
    payload_hash: str
    presigned: bool
    #: For signed streaming bodies: verifies the chunk signature chain.
    chunk_verifier: ChunkVerifier | None = None


# -- canonicalisation helpers ------------------------------------------------------------------


def _aws_quote(raw: str, safe: str) -> str:
    """AWS URI encoding of an already percent-encoded string: decode, then re-encode."""
    return quote(unquote_to_bytes(raw), safe=safe)


def canonical_query_string(raw_query: str, *, exclude: frozenset[str] = frozenset()) -> str:
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        name, value = _aws_quote(name, "-_.~"), _aws_quote(value, "-_.~")
        if name in exclude:
            continue
        pairs.append((name, value))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_paths(scope: MutableMapping[str, Any]) -> list[str]:
    """The canonical URI candidates: as received (what clients sign), then AWS-normalized."""
    raw = scope.get("raw_path")
    raw_path = raw.decode("latin-1") if raw else quote(scope["path"], safe="/~")
    root_path = scope.get("root_path") or ""
    if root_path and not raw_path.startswith(root_path):
        raw_path = root_path.rstrip("/") + raw_path  # mounted behind a prefix-stripping proxy
    normalized = _aws_quote(raw_path, "/~")
    return [raw_path] if normalized == raw_path else [raw_path, normalized]


def _header_text(value: str) -> str:
    # Starlette decodes header bytes as latin-1; clients sign UTF-8 text (x-amz-meta-*).
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _parse_timestamp(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=dt.UTC)


def _parse_credential(credential: str) -> tuple[str, str, str, str]:
    """``AKID/20130524/us-east-1/s3/aws4_request`` -> (akid, date, region, service)."""
    parts = credential.rsplit("/", 4)
    if len(parts) != 5 or not parts[0] or parts[4] != "aws4_request":
        raise _malformed("The authorization credential is malformed.")
    akid, date, region, service, _ = parts
    if service != "s3":
        raise _malformed(f"The credential scope names service {service!r}; expecting 's3'.")
    if not re.fullmatch(r"\d{8}", date) or not region:
        raise _malformed("The authorization credential scope is malformed.")
    return akid, date, region, service


def _parse_authorization(header: str) -> tuple[str, list[str], str]:
    """``(credential, signed header names, signature)`` of a SigV4 Authorization header."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        if algorithm == "AWS":
            raise invalid_request("Signature Version 2 is not supported; use AWS4-HMAC-SHA256.")
        raise invalid_request(f"Unsupported authorization type; use {ALGORITHM}.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    try:
        credential, signed, signature = (
            fields["Credential"],
            fields["SignedHeaders"],
            fields["Signature"],
        )
    except KeyError as exc:
        raise _malformed("The authorization header is malformed.") from exc
    names = [name.strip().lower() for name in signed.split(";") if name.strip()]
    if not names or not re.fullmatch(r"[0-9a-fA-F]{64}", signature):
        raise _malformed("The authorization header is malformed.")
    return credential, names, signature.lower()


def _real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _resolve(
    resolver: PrincipalResolver, access_key_id: str, clock: Clock = _real_now
) -> S3Principal:
    try:
        principal = await run_in_threadpool(resolver, access_key_id)
    except Exception as exc:  # the platform's lookup failed: not the caller's fault
        logger.exception("S3 principal lookup failed for access key %s", access_key_id)
        raise internal_error() from exc
    if principal is None:
        raise S3Error(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
            extra={"AWSAccessKeyId": access_key_id},
        )
    expires = principal.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)  # naive datetimes are taken as UTC
    if expires is not None and expires <= clock():
        raise S3Error("ExpiredToken", "The provided token has expired.", 403)
    return principal


def _check_skew(moment: dt.datetime, now: dt.datetime) -> None:
    if abs(now - moment) > MAX_CLOCK_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
            extra={
                "RequestTime": moment.strftime(TIMESTAMP_FORMAT),
                "ServerTime": now.strftime(TIMESTAMP_FORMAT),
            },
        )


def _verify(signer: _VerifyingSigner, request: Request, timestamp: str, provided: str) -> None:
    first: tuple[str, str] | None = None
    for path in canonical_paths(request.scope):
        signature, string_to_sign, canonical = signer.compute(request.method, path, timestamp)
        if hmac.compare_digest(signature, provided):
            return
        first = first or (string_to_sign, canonical)
    assert first is not None
    logger.info(
        "S3 signature mismatch for access key %s on %s %s",
        signer.credentials.access_key,
        request.method,
        request.url.path,
    )
    raise signature_mismatch(signer.credentials.access_key, *first)


async def authenticate(
    request: Request, resolver: PrincipalResolver, *, clock: Clock | None = None
) -> AuthResult:
    """Authenticate ``request`` (header or presigned SigV4) without touching its body.

    ``clock`` judges the expiry of the principal's key pair (the platform's clock; default
    the real time); the request's own date is checked against the real time, which its
    signer used."""
    clock = clock or _real_now
    header = request.headers.get("authorization")
    query_params = request.query_params
    if header is None and "X-Amz-Algorithm" in query_params:
        return await _authenticate_presigned(request, resolver, clock)
    if header is None and "Signature" in query_params and "AWSAccessKeyId" in query_params:
        raise invalid_request("Signature Version 2 is not supported; presign with s3v4.")
    if header is None:
        raise access_denied("Anonymous access is not allowed; sign requests with SigV4.")

    credential, signed_names, provided = _parse_authorization(header)
    access_key_id, scope_date, region, service = _parse_credential(credential)

    amz_date = request.headers.get("x-amz-date")
    try:
        if amz_date is not None:
            moment = _parse_timestamp(amz_date)
        elif "date" in request.headers:
            moment = email.utils.parsedate_to_datetime(request.headers["date"])
            moment = moment.astimezone(dt.UTC)
        else:
            raise access_denied("AWS authentication requires a valid Date or x-amz-date header")
    except (ValueError, TypeError) as exc:
        raise access_denied(
            "AWS authentication requires a valid Date or x-amz-date header"
        ) from exc
    timestamp = moment.strftime(TIMESTAMP_FORMAT)
    _check_skew(moment, dt.datetime.now(dt.UTC))
    if scope_date != timestamp[:8]:
        raise _malformed("The credential date does not match the request date.")
    if "host" not in signed_names:
        raise _malformed("The Host header must be signed.")

    payload_hash = request.headers.get("x-amz-content-sha256")
    if payload_hash is None:
        raise invalid_request("Missing required header for this request: x-amz-content-sha256")

    signed_headers: list[tuple[str, str]] = []
    for name in signed_names:
        values = request.headers.getlist(name)
        if not values:
            raise signature_mismatch(access_key_id, "", f"signed header {name!r} is missing")
        signed_headers.extend((name, _header_text(value)) for value in values)

    principal = await _resolve(resolver, access_key_id, clock)
    signer = _VerifyingSigner(
        principal,
        region,
        service,
        signed_headers,
        payload_hash,
        canonical_query_string(request.scope.get("query_string", b"").decode("latin-1")),
    )
    _verify(signer, request, timestamp, provided)

    if payload_hash not in _PAYLOAD_KEYWORDS and not _HEX_SHA256.fullmatch(payload_hash):
        raise S3Error(
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value or a "
            "valid sha256 value.",
            400,
        )
    verifier = None
    if payload_hash in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
        scope = f"{timestamp[:8]}/{region}/{service}/aws4_request"
        verifier = ChunkVerifier(signer, timestamp, scope, provided)
    return AuthResult(principal, payload_hash, presigned=False, chunk_verifier=verifier)


async def _authenticate_presigned(
    request: Request, resolver: PrincipalResolver, clock: Clock
) -> AuthResult:
    if request.method not in ("GET", "HEAD"):
        raise access_denied("Presigned URLs are accepted only for GET and HEAD.")
    params = request.query_params
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise invalid_request(f"Unsupported X-Amz-Algorithm; use {ALGORITHM}.")
    if any(name not in params for name in _PRESIGN_PARAMS):
        raise access_denied(
            "Query-string authentication requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
            "X-Amz-SignedHeaders and X-Amz-Expires parameters."
        )
    access_key_id, scope_date, region, service = _parse_credential(params["X-Amz-Credential"])
    try:
        moment = _parse_timestamp(params["X-Amz-Date"])
        expires = int(params.get("X-Amz-Expires", "900"))
    except ValueError as exc:
        raise access_denied("X-Amz-Date or X-Amz-Expires is malformed.") from exc
    if not 0 < expires <= MAX_PRESIGNED_EXPIRES:
        raise access_denied("X-Amz-Expires must be between 1 and 604800 seconds.")
    now = dt.datetime.now(dt.UTC)
    if now > moment + dt.timedelta(seconds=expires):
        raise access_denied("Request has expired")
    if moment - now > MAX_CLOCK_SKEW:
        raise access_denied("Request is not yet valid")
    timestamp = params["X-Amz-Date"]
    if scope_date != timestamp[:8]:
        raise _malformed("The credential date does not match the request date.")
    provided = params["X-Amz-Signature"].lower()
    signed_names = [n.strip().lower() for n in params["X-Amz-SignedHeaders"].split(";") if n]
    if "host" not in signed_names:
        raise access_denied("The Host header must be signed.")
    signed_headers: list[tuple[str, str]] = []
    for name in signed_names:
        values = request.headers.getlist(name)
        if not values:
            raise signature_mismatch(access_key_id, "", f"signed header {name!r} is missing")
        signed_headers.extend((name, _header_text(value)) for value in values)

    principal = await _resolve(resolver, access_key_id, clock)
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    signer = _VerifyingSigner(
        principal,
        region,
        service,
        signed_headers,
        UNSIGNED_PAYLOAD,
        canonical_query_string(raw_query, exclude=frozenset({"X-Amz-Signature"})),
    )
    _verify(signer, request, timestamp, provided)
    return AuthResult(principal, UNSIGNED_PAYLOAD, presigned=True)
