"""Privacy first through Manager and Runner, for either SDK: identifiers refused with the safe
choices, a primary key, pseudonymized columns (FAKER e-mails, keyed HASH_SHA256, UUID4), the
exact-copy metrics and the verdict, an identifier excluded with each method.

Runs with this project's SDK and with Octopize's official client 1.30 (``pseudonymized_columns``
is 1.30's), importing only names both share. Prints one JSON summary on its last stdout line
(what the results are, never their values), which the test compares across SDKs.

Environment: ``AVATAR_BASE_URL``, ``AVATAR_API_KEY``, ``FLOW_OUT``.
"""

from __future__ import annotations

import json
import os
import re
import warnings

import numpy as np
import pandas as pd

from avatars import FakeDataStrategy, HashSha256Strategy, PiiType, Uuid4Strategy
from avatars.manager import Manager
from avatars.models import JobKind
from avatars.runner import ExcludeVariablesMethod

warnings.simplefilter("ignore")

JOBS = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics]
HEX64 = re.compile(r"[0-9a-f]{64}")


def patients(n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ids = np.arange(1, n + 1)
    return pd.DataFrame(
        {
            "patient_id": ids,
            "email": [f"patient{i}@hospital.example.org" for i in ids],
            "phone": [f"+33 6 {i // 100:02d} {i % 100:02d} 12 34" for i in ids],
            "insurance": [f"INS-{i:05d}" for i in ids],
            "age": rng.integers(20, 90, n),
            "weight": rng.normal(75, 12, n).round(1),
            "sex": rng.choice(["F", "M"], n),
        }
    )


def failure(runner) -> str:  # type: ignore[no-untyped-def]
    """The standard job's error message ('' when it finished)."""
    try:
        runner.shuffled("patients")
    except Exception as exc:  # the SDKs raise different classes; the message is the server's
        return str(exc)
    return ""


def refusal_words(message: str) -> dict:
    return {
        "names_columns": all(c in message for c in ("patient_id", "email", "phone")),
        "drop": "drop" in message,
        "key": "primary_key" in message,
        "pseudonymize": "pseudonymized_columns" in message,
        "explicit_opt_in": "explicit_replacement_strategy" in message,
    }


def main() -> None:
    manager = Manager(base_url=os.environ["AVATAR_BASE_URL"], api_key=os.environ["AVATAR_API_KEY"])
    table = patients()
    summary: dict = {}

    # 1. As is: refused, naming the columns and the safe choices.
    runner = manager.create_runner("privacy_refused", seed=0)
    runner.add_table("patients", table)
    runner.set_parameters("patients", k=5)
    runner.run(jobs_to_run=[JobKind.standard])
    summary["refused"] = refusal_words(failure(runner))

    # 2. Excluded with the client's default method: still refused (no re-identification key
    #    by accident).
    runner = manager.create_runner("privacy_excluded_default", seed=0)
    runner.add_table("patients", table.drop(columns=["email", "phone", "insurance"]))
    runner.set_parameters("patients", k=5, exclude_variable_names=["patient_id"])
    runner.run(jobs_to_run=[JobKind.standard])
    summary["excluded_by_default_refused"] = "patient_id" in failure(runner)

    # 3. The safe path: a primary key and pseudonymized columns.
    runner = manager.create_runner("privacy_safe", seed=0)
    runner.add_table("patients", table, primary_key="patient_id")
    runner.set_parameters(
        "patients",
        k=5,
        pseudonymized_columns={
            "email": FakeDataStrategy(pii_type=PiiType.EMAIL),
            "phone": HashSha256Strategy(),
            "insurance": Uuid4Strategy(),
        },
    )
    runner.run(jobs_to_run=[*JOBS, JobKind.report])
    avatars = runner.shuffled("patients")
    privacy = runner.privacy_metrics("patients")[0]
    names = {m["name"] for m in privacy.get("metrics", [])}
    summary["safe"] = {
        "rows": len(avatars),
        "columns": sorted(avatars.columns),
        "new_keys": bool(avatars["patient_id"].is_unique)
        and not set(avatars["patient_id"].astype(str)) & set(table["patient_id"].astype(str)),
        "fake_emails": bool(avatars["email"].str.contains("@").all())
        and not set(avatars["email"]) & set(table["email"]),
        "keyed_hashes": all(HEX64.fullmatch(str(v)) for v in avatars["phone"]),
        "uuids": bool(avatars["insurance"].str.fullmatch(r"[0-9a-f-]{36}").all()),
        "exact_copy_metrics": sorted(names & {"unique_copy_share", "row_direct_match_protection"}),
        "verdict_keys": sorted(privacy.get("verdict", {})),
        "verdict_status_in": privacy.get("verdict", {}).get("status") in ("pass", "fail"),
    }
    report = os.path.join(os.environ["FLOW_OUT"], "safe_report.pdf")
    runner.download_report(report)
    with open(report, "rb") as handle:
        summary["safe"]["report_magic"] = handle.read(5).decode("latin-1")

    # 4. An identifier excluded by coordinate similarity (never a default: a choice): runs,
    #    and every result says that the avatars carry original identifiers.
    runner = manager.create_runner("privacy_similarity", seed=0)
    runner.add_table("patients", table.drop(columns=["email", "phone", "insurance"]))
    runner.set_parameters(
        "patients",
        k=5,
        exclude_variable_names=["patient_id"],
        exclude_variable_method=ExcludeVariablesMethod.COORDINATE_SIMILARITY,
    )
    runner.run(jobs_to_run=JOBS)
    privacy = runner.privacy_metrics("patients")[0]
    status = runner.get_job(JobKind.standard).status
    summary["similarity"] = {
        "standard": str(getattr(status, "value", status)),
        "warning_codes": sorted(w["code"] for w in privacy["metadata"]["warnings"]),
        "verdict": privacy["verdict"]["status"],
    }

    # 5. Row order named explicitly: our SDK writes that it was chosen; the official client
    #    writes the same YAML as for the default, which stays refused.
    runner = manager.create_runner("privacy_row_order", seed=0)
    runner.add_table("patients", table.drop(columns=["email", "phone", "insurance"]))
    runner.set_parameters(
        "patients",
        k=5,
        exclude_variable_names=["patient_id"],
        exclude_variable_method=ExcludeVariablesMethod.ROW_ORDER,
    )
    runner.run(jobs_to_run=[JobKind.standard])
    message = failure(runner)
    summary["row_order"] = {"refused": bool(message)}
    if not message:
        unshuffled = runner.sensitive_unshuffled("patients")
        summary["row_order"]["original_ids"] = (
            unshuffled["patient_id"].tolist() == table["patient_id"].tolist()
        )
        summary["row_order"]["job_warns"] = "re-attached by row order" in str(
            runner.get_job(JobKind.standard).exception
        )
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
