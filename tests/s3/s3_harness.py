"""Harness for the S3 endpoint tests: real uvicorn servers (HTTP and self-signed HTTPS)
with only the S3 router mounted at ``/storage``, and real botocore and s3fs clients.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.config
import botocore.session
import fsspec
import pytest
import uvicorn
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fastapi import FastAPI

from avatars.server.storage import Storage

ALICE_BUCKET = str(uuid.UUID(int=0xA11CE))
BOB_BUCKET = str(uuid.UUID(int=0xB0B))


@dataclass
class Keys:
    access_key_id: str
    secret_access_key: str


ALICE = Keys("AKIAALICE0000000001", "alice-secret-" + "a" * 27)
BOB = Keys("AKIABOB000000000002", "bob-secret-" + "b" * 29)
EXPIRED = Keys("AKIAEXPIRED00000003", "expired-secret-" + "e" * 25)


@functools.cache
def _botocore_session() -> Any:
    return botocore.session.get_session()


@dataclass
class S3Server:
    http_url: str  # .../storage
    https_url: str | None  # None when no certificate could be made
    storage: Storage
    root: Path
    events: list[tuple[str, str, str, str]] = field(default_factory=list)

    def _endpoint(self, https: bool) -> str:
        if not https:
            return self.http_url
        if self.https_url is None:
            pytest.skip("no TLS certificate tooling (cryptography or openssl)")
        return self.https_url

    def client(self, keys: Keys = ALICE, *, https: bool = False, **config: Any) -> Any:
        """A new botocore S3 client with ``keys`` (and its own ``config``), from one botocore
        session for the whole run: a new session reloads the S3 service model, ~0.1 s of CPU
        per client; the clients themselves share nothing but that model."""
        return _botocore_session().create_client(
            "s3",
            endpoint_url=self._endpoint(https),
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            region_name="us-east-1",
            verify=False,
            config=botocore.config.Config(
                s3={"addressing_style": "path"},
                retries={"total_max_attempts": 1},
                **config,
            ),
        )

    def fs(self, path: str, keys: Keys = ALICE, *, https: bool = False) -> tuple[Any, str]:
        """``fsspec.url_to_fs`` exactly as the official client builds its filesystem."""
        endpoint = self._endpoint(https)
        # The client exports FSSPEC_S3_ENDPOINT_URL first; restore it afterwards so the
        # variable does not leak into other tests' subprocesses (where fsspec, reading it
        # at import, would pass endpoint_url twice).
        previous = os.environ.get("FSSPEC_S3_ENDPOINT_URL")
        os.environ["FSSPEC_S3_ENDPOINT_URL"] = endpoint
        try:
            return fsspec.url_to_fs(
                path,
                anon=False,
                skip_instance_cache=True,
                client_kwargs={
                    "aws_access_key_id": keys.access_key_id,
                    "aws_secret_access_key": keys.secret_access_key,
                    "endpoint_url": endpoint,
                    "verify": False,
                },
            )
        finally:
            if previous is None:
                os.environ.pop("FSSPEC_S3_ENDPOINT_URL", None)
            else:
                os.environ["FSSPEC_S3_ENDPOINT_URL"] = previous


def _self_signed(directory: Path) -> tuple[Path, Path] | None:
    """A throw-away certificate for 127.0.0.1 (cryptography if installed, else openssl)."""
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    try:
        _self_signed_cryptography(cert_path, key_path)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            return None
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(key_path),
                "-out",
                str(cert_path),
            ],
            check=True,
            capture_output=True,
        )
    return cert_path, key_path


def _self_signed_cryptography(cert_path: Path, key_path: Path) -> None:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _serve(app: FastAPI, **ssl_options: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, **ssl_options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread, port


class _PayloadSigner(S3SigV4Auth):
    """botocore's signer with a caller-chosen x-amz-content-sha256 (STREAMING-*, bogus...)."""

    def __init__(self, keys: Keys, payload_hash: str | None) -> None:
        super().__init__(Credentials(keys.access_key_id, keys.secret_access_key), "s3", "us-east-1")
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        if self._payload_hash is not None:
            return self._payload_hash
        return super().payload(request)


def sign(
    url: str,
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    keys: Keys = ALICE,
    payload_hash: str | None = None,
) -> tuple[dict[str, str], str]:
    """Headers of a SigV4-signed request, and the signature (seed of chunk signatures)."""
    headers = {"Host": urllib.parse.urlsplit(url).netloc, **(headers or {})}
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    _PayloadSigner(keys, payload_hash).add_auth(request)
    signed = dict(request.headers.items())
    signature = signed["Authorization"].rsplit("Signature=", 1)[1]
    return signed, signature


def raw_request(
    url: str, method: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """Send exactly these headers and body (no client-side checksums or retries)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if not any(name.lower() == "content-length" for name in headers):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def error_code(body: bytes) -> str | None:
    match = re.search(rb"<Code>([^<]*)</Code>", body)
    return match[1].decode() if match else None


def leftovers(root: Path) -> list[str]:
    """Temporary files left anywhere in the storage (there must never be any)."""
    return [str(p.relative_to(root)) for p in root.rglob("*") if ".avatars-tmp-" in p.name]
