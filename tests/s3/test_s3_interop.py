"""The official client's own S3 stack (its pinned botocore/aiobotocore/s3fs, in the Python
3.12 venvs that tests/interop caches) against this endpoint: makedirs + write_bytes,
read_text/read_bytes, a 110 MiB multipart upload, a missing file. The venv is built on demand
(skipped without Python 3.12 or the registry, failed instead in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from s3_harness import ALICE, ALICE_BUCKET, S3Server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from venvs import Unavailable, ensure_venv

CLIENT_VERSION = "1.20.0"  # its pins: botocore 1.37.3, aiobotocore 2.22.0


def _usable_python() -> Path:
    """The official client's venv (built on demand, cached in .cache/interop)."""
    try:
        return ensure_venv(CLIENT_VERSION)
    except Unavailable as exc:
        if os.environ.get("AVATAR_TEST_REQUIRE_INTEROP") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


CLIENT = """
import os, sys, warnings
import fsspec
warnings.filterwarnings("ignore")
url, key, secret, bucket, name = sys.argv[1:6]
os.environ["FSSPEC_S3_ENDPOINT_URL"] = url

def fs_for(path):  # exactly the official client's construction (storage.py, 1.20)
    kwargs = {"aws_access_key_id": key, "aws_secret_access_key": secret,
              "endpoint_url": url, "verify": False}
    return fsspec.url_to_fs(path, anon=False, client_kwargs=kwargs)

base = f"s3://{bucket}/30d/interop-{name}"
fs, path = fs_for(f"{base}/iris.csv")
fs.makedirs(fs._parent(path), exist_ok=True)
fs.write_bytes(path, b"a,b\\n1,2\\n")
fs, path = fs_for(f"{base}/iris.csv")
assert fs.read_text(path) == "a,b\\n1,2\\n"
assert fs.read_bytes(path) == b"a,b\\n1,2\\n"
big = os.urandom(2**20) * 110
fs, path = fs_for(f"{base}/big.bin")
fs.write_bytes(path, big)
fs, path = fs_for(f"{base}/big.bin")
assert fs.read_bytes(path) == big
try:
    fs.read_text(f"{bucket}/30d/interop-{name}/missing.csv")
    raise SystemExit("missing file did not raise")
except FileNotFoundError:
    pass
import botocore, aiobotocore, s3fs
print("ok", botocore.__version__, aiobotocore.__version__, s3fs.__version__)
"""


@pytest.mark.interop
@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_official_client_stack(s3: S3Server, tmp_path: Path, https: bool) -> None:
    python = _usable_python()
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    url = s3._endpoint(https)
    name = f"{python.parent.parent.name}-{'https' if https else 'http'}"
    result = subprocess.run(
        [str(python), str(script), url, ALICE.access_key_id, ALICE.secret_access_key,
         ALICE_BUCKET, name],
        capture_output=True, text=True, timeout=300, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("FSSPEC_")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok"), result.stdout
    assert s3.storage.info(f"{ALICE_BUCKET}/30d/interop-{name}/big.bin").size == 110 * 2**20
