"""With the official client: upload a big file through its own storage layer (s3fs, in
parts above its 50 MiB block size), then download it back; print the SHA-256 of both."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings

from avatars.manager import Manager

warnings.simplefilter("ignore")


def main() -> None:
    manager = Manager(base_url=os.environ["AVATAR_BASE_URL"], api_key=os.environ["AVATAR_API_KEY"])
    client = manager.auth_client
    source = os.environ["BIG_SOURCE"]
    key = os.environ["BIG_KEY"]
    with open(source, "rb") as handle:
        uploaded = hashlib.sha256(handle.read()).hexdigest()
    client.upload_file(data=source, key=key)
    base = client.results.get_upload_url()
    path = f"{base}/{key}"
    access = client.results.get_permission_to_download(f"{client.base_url}/access?url={path}")
    text = client.download_file(file_access=access)
    downloaded = hashlib.sha256(text.encode("utf-8")).hexdigest()
    sys.stdout.write(
        json.dumps(
            {
                "uploaded_sha256": uploaded,
                "downloaded_sha256": downloaded,
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
