"""Throughput and memory of the S3 endpoint (``/storage``) on loopback.

Starts a server subprocess (uvicorn with only the S3 router, storage in a temporary
folder) unless ``--url`` points at a running one, then moves one object of ``--size-mb``
through it:

* s3fs ``write_bytes`` / ``read_bytes`` (multipart upload in 50 MiB parts, concurrent
  ranged downloads), over HTTP (signed plain bodies) and HTTPS (aws-chunked + CRC32
  trailer, what production clients send);
* botocore, one single PutObject and one streamed GetObject.

For each transfer it prints MB/s and the server process's peak RSS (polled with psutil),
and as a baseline the same bytes copied file-to-file on the same disk (1 MiB blocks
through user space, like the server's writer), with the ratio.

    .venv/bin/python benchmarks/storage_throughput.py [--size-mb 500] [--no-https]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MB = 1_000_000
BLOCK = 1024 * 1024


# -- server side (runs in the subprocess) ------------------------------------------------------


def serve(root: str, port: int, certfile: str | None, keyfile: str | None) -> None:
    import uvicorn
    from fastapi import FastAPI

    from avatars.server.s3 import S3Principal, create_s3_router
    from avatars.server.storage import Storage

    principal = S3Principal(
        os.environ["BENCH_KEY"],
        os.environ["BENCH_SECRET"],
        "bench",
        frozenset({os.environ["BENCH_BUCKET"]}),
    )
    app = FastAPI()
    router = create_s3_router(Storage(root), {principal.access_key_id: principal}.get)
    app.include_router(router, prefix="/storage")
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


# -- client side -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _self_signed(directory: Path) -> tuple[str, str] | None:
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
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
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited during startup")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError("server did not start")


class PeakRss:
    """Polls a process's RSS in a thread; ``peak`` is the maximum seen while active."""

    def __init__(self, pid: int | None) -> None:
        self._process = None
        if pid is not None:
            import psutil

            self._process = psutil.Process(pid)
        self.before = self.peak = 0
        self.cpu_seconds = 0.0
        self._stop = threading.Event()

    def _rss(self) -> int:
        return self._process.memory_info().rss if self._process is not None else 0

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.01)

    def _cpu(self) -> float:
        if self._process is None:
            return 0.0
        times = self._process.cpu_times()
        return times.user + times.system

    @contextlib.contextmanager
    def watch(self) -> Iterator[None]:
        self.before = self.peak = self._rss()
        cpu = self._cpu()
        self._stop.clear()
        thread = threading.Thread(target=self._poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self.cpu_seconds = self._cpu() - cpu


def _report(name: str, size: int, seconds: float, rss: PeakRss, baseline: float | None) -> None:
    rate = size / MB / seconds
    line = f"{name:<42} {rate:8.1f} MB/s  ({seconds:6.2f} s)"
    if rss.peak:
        line += f"  server RSS {rss.before / 2**20:4.0f} -> peak {rss.peak / 2**20:4.0f} MiB"
        line += f", CPU {rss.cpu_seconds * MB * 1000 / size:5.2f} s/GB"
    if baseline:
        line += f"  ({rate / baseline:4.2f}x disk copy)"
    print(line, flush=True)


def _timed(call: Callable[[], Any], rss: PeakRss) -> tuple[float, Any]:
    with rss.watch():
        start = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - start
    return elapsed, result


def _disk_copy(directory: Path, data: bytes) -> float:
    """MB/s of copying ``data`` file-to-file in ``directory`` through 1 MiB blocks."""
    source, target = directory / "baseline-src.bin", directory / "baseline-dst.bin"
    source.write_bytes(data)
    start = time.perf_counter()
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while block := reader.read(BLOCK):
            writer.write(block)
    elapsed = time.perf_counter() - start
    source.unlink()
    target.unlink()
    return len(data) / MB / elapsed


def run(args: argparse.Namespace) -> None:
    import botocore.config
    import botocore.session
    import fsspec

    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    work = Path(tempfile.mkdtemp(prefix="s3-bench-", dir=args.workdir))
    process: subprocess.Popen[bytes] | None = None
    urls: dict[str, str] = {}
    pids: dict[str, int] = {}
    try:
        if args.url:
            urls["http" if args.url.startswith("http:") else "https"] = args.url.rstrip("/")
            key, secret, bucket = args.access_key, args.secret_key, args.bucket
            pid = args.server_pid
        else:
            key, secret = "BENCH" + secrets.token_hex(8).upper(), secrets.token_hex(20)
            bucket = str(uuid.uuid4())
            env = {**os.environ, "BENCH_KEY": key, "BENCH_SECRET": secret, "BENCH_BUCKET": bucket}
            ports = {"http": _free_port()}
            tls = None if args.no_https else _self_signed(work)
            processes = []
            for scheme, port in [("http", ports["http"])] + (
                [("https", _free_port())] if tls else []
            ):
                command = [
                    sys.executable,
                    __file__,
                    "--serve",
                    "--root",
                    str(work / "storage"),
                    "--port",
                    str(port),
                ]
                if scheme == "https" and tls:
                    command += ["--certfile", tls[0], "--keyfile", tls[1]]
                processes.append(subprocess.Popen(command, env=env))
                _wait_listening(port, processes[-1])
                urls[scheme] = f"{scheme}://127.0.0.1:{port}/storage"
            process = processes[0]
            pids = {scheme: p.pid for scheme, p in zip(urls, processes, strict=True)}

        size = args.size_mb * MB
        print(
            f"object: {size / MB:.0f} MB, storage and baseline in {work}; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
            flush=True,
        )
        data = os.urandom(1024 * 1024) * (size // (1024 * 1024)) + os.urandom(size % (1024 * 1024))
        # Three copies: the first may fit in the page cache's dirty budget, the next ones
        # meet the disk's sustained write speed (as a long upload does); report the median.
        copies = [_disk_copy(work, data) for _ in range(3)]
        baseline = statistics.median(copies)
        runs = ", ".join(f"{rate:.0f}" for rate in copies)
        print(
            f"{'baseline: file-to-file copy, same disk':<42} {baseline:8.1f} MB/s  "
            f"(median of {runs})",
            flush=True,
        )

        for scheme, url in urls.items():
            rss = PeakRss(pids.get(scheme) if not args.url else pid)
            os.environ["FSSPEC_S3_ENDPOINT_URL"] = url
            client_kwargs = {
                "aws_access_key_id": key,
                "aws_secret_access_key": secret,
                "endpoint_url": url,
                "verify": False,
            }

            def open_fs(kwargs: dict[str, Any] = client_kwargs) -> tuple[Any, str]:
                # As the official client does: a fresh filesystem for each transfer.
                return fsspec.url_to_fs(
                    f"s3://{bucket}/bench/s3fs.bin",
                    anon=False,
                    skip_instance_cache=True,
                    client_kwargs=kwargs,
                )

            fs, path = open_fs()
            fs.makedirs(f"{bucket}/bench", exist_ok=True)
            seconds, _ = _timed(lambda fs=fs, path=path: fs.write_bytes(path, data), rss)
            _report(f"s3fs upload, multipart ({scheme})", size, seconds, rss, baseline)
            fs, path = open_fs()
            seconds, back = _timed(lambda fs=fs, path=path: fs.read_bytes(path), rss)
            assert back == data, "download differs from upload"
            del back
            _report(f"s3fs download ({scheme})", size, seconds, rss, baseline)

            client = botocore.session.get_session().create_client(
                "s3",
                endpoint_url=url,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                region_name="us-east-1",
                verify=False,
                config=botocore.config.Config(s3={"addressing_style": "path"}, read_timeout=300),
            )
            seconds, _ = _timed(
                lambda c=client: c.put_object(Bucket=bucket, Key="bench/put.bin", Body=data), rss
            )
            _report(f"botocore PutObject, single request ({scheme})", size, seconds, rss, baseline)

            def download(c: Any = client) -> int:
                body = c.get_object(Bucket=bucket, Key="bench/put.bin")["Body"]
                return sum(len(chunk) for chunk in body.iter_chunks(BLOCK))

            seconds, received = _timed(download, rss)
            assert received == size
            _report(f"botocore GetObject, streamed ({scheme})", size, seconds, rss, baseline)
    finally:
        if not args.url:
            for p in locals().get("processes", []):
                p.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"done {dt.datetime.now().isoformat(timespec='seconds')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--workdir", default=None, help="where storage and baseline files go")
    parser.add_argument("--no-https", action="store_true", help="skip the HTTPS server")
    parser.add_argument("--url", help="use a running server: its /storage URL")
    parser.add_argument("--access-key")
    parser.add_argument("--secret-key")
    parser.add_argument("--bucket")
    parser.add_argument("--server-pid", type=int, help="PID of --url's server, for RSS")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--certfile", help=argparse.SUPPRESS)
    parser.add_argument("--keyfile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.root, args.port, args.certfile, args.keyfile)
    else:
        if args.url and not (args.access_key and args.secret_key and args.bucket):
            parser.error("--url needs --access-key, --secret-key and --bucket")
        run(args)


if __name__ == "__main__":
    main()
