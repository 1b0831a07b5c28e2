"""Differentially private avatarization through the platform with our SDK (issue 20).

``set_parameters(table, open_dp_epsilon=...)`` / ``fast_dp_epsilon=...`` as with the official
client: both variants complete on the paper's WBCD (without its sample number, an identifier)
and AIDS tables, their signal improves with ε, the accounting reaches the run metadata, the
metrics documents and the report, and FastDP says it is not end-to-end DP. The official
client's flow is ``tests/interop/test_differential_privacy_official.py``.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from avatars.exceptions import JobFailedError
from avatars.manager import Manager
from avatars.models import JobKind
from avatars.protocol.errors import ParameterError

PAPER = Path(__file__).resolve().parents[1] / "data" / "paper"
METRICS = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics]


@pytest.fixture
def manager(platform: Any, user: Any) -> Manager:
    return platform.manager(api_key=user.api_key)


def paper_tables() -> dict[str, pd.DataFrame]:
    wbcd = pd.read_csv(PAPER / "wbcd.csv").drop(columns=["Sample_code_number"])
    aids = pd.read_csv(PAPER / "aids.csv", sep=";").drop(columns=["pidnum"])
    return {"wbcd": wbcd, "aids": aids}


def _results_metadata() -> Any:
    from avatars.runner import Results

    return Results.METADATA


def test_both_variants_complete_and_improve_with_epsilon(manager: Manager) -> None:
    """8 runs started together (2 tables × 2 variants × ε ∈ {1, 100}), then read."""
    runners = {}
    for table, df in paper_tables().items():
        for variant in ("open_dp_epsilon", "fast_dp_epsilon"):
            for epsilon in (1.0, 100.0):
                runner = manager.create_runner(f"dp_{table}_{variant}_{epsilon:g}", seed=0)
                runner.add_table(table, df)
                runner.set_parameters(table, **{variant: epsilon})
                runner.run(jobs_to_run=METRICS)
                runners[table, variant, epsilon] = runner
    hellinger: dict[tuple[str, str, float], float] = {}
    for (table, variant, epsilon), runner in runners.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            shuffled = runner.shuffled(table, timeout=300)
        job = runner.get_job(JobKind.standard)
        assert job.status.value == "finished", job.exception
        assert len(shuffled) == len(paper_tables()[table])
        signal = runner.signal_metrics(table)[0]
        privacy = runner.privacy_metrics(table)[0]
        hellinger[table, variant, epsilon] = signal["hellinger_mean"]
        assert privacy["hidden_rate"] is not None and privacy["distance_to_closest"] is not None
        note = privacy["metadata"]["differential_privacy"]
        assert note == signal["metadata"]["differential_privacy"]
        assert note["epsilon"] == epsilon
        metadata = runner._download("standard", _results_metadata())["standard"]
        accounting = metadata["differential_privacy"]
        assert accounting["epsilon_spent"] == pytest.approx(epsilon)
        assert accounting["unit_of_privacy"] == "one row of the table (one individual)"
        if variant == "fast_dp_epsilon":
            assert note["end_to_end"] is False and note["variant"] == "fast_dp"
            assert job.exception.startswith("warning: avatarization_fast_dp is NOT")
            assert any("NOT differentially private" in str(w.message) for w in caught)
            assert not all(step["covered"] for step in accounting["steps"])
        else:
            assert note["end_to_end"] is True and note["variant"] == "open_dp"
            assert job.exception == ""
            assert all(step["covered"] for step in accounting["steps"])
    for table in ("wbcd", "aids"):
        for variant in ("open_dp_epsilon", "fast_dp_epsilon"):
            low, high = hellinger[table, variant, 1.0], hellinger[table, variant, 100.0]
            assert high < low, (table, variant, hellinger)


def test_the_report_states_the_guarantee(manager: Manager, tmp_path: Path) -> None:
    wbcd = paper_tables()["wbcd"]
    runner = manager.create_runner("dp_report", seed=0)
    runner.add_table("wbcd", wbcd)
    # a person may hold two rows: the guarantee covers them both, and says so
    runner.set_parameters("wbcd", fast_dp_epsilon=3.0, dp_rows_per_individual=2)
    assert runner.config.avatarization_fast_dp["wbcd"]["rows_per_individual"] == 2
    runner.run()
    target = tmp_path / "report.pdf"  # kept under pytest's basetemp for a look
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner.download_report(str(target))
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert "Differential privacy" in flat
    assert "NOT differentially private end to end" in flat
    assert "latent_model" in flat and "marginals" in flat and "projection" in flat
    assert "one individual, who holds at most 2 rows of the table" in flat
    with warnings.catch_warnings():  # FastDP's "NOT end to end", asserted elsewhere
        warnings.simplefilter("ignore")
        metadata = runner._download("standard", _results_metadata())["standard"]
    assert metadata["differential_privacy"]["rows_per_individual"] == 2


def test_bad_budgets_are_refused_in_the_servers_words(manager: Manager) -> None:
    runner = manager.create_runner("dp_bad")
    runner.add_table("wbcd", paper_tables()["wbcd"])
    with pytest.raises(ValueError, match=r"^k and open_dp_epsilon are exclusive"):
        runner.set_parameters("wbcd", k=5, open_dp_epsilon=1.0)
    with pytest.raises(ValueError, match=r"open_dp_epsilon and fast_dp_epsilon are exclusive"):
        runner.set_parameters("wbcd", open_dp_epsilon=1.0, fast_dp_epsilon=1.0)
    for value in (0, -1.0, 1e6, float("nan")):
        with pytest.raises(ParameterError, match=r"^fast_dp_epsilon: expected a number in"):
            runner.set_parameters("wbcd", fast_dp_epsilon=value)
    # the same words as the server's (for a YAML written by hand) and the engine's
    from avatars.engine.dp import check_epsilon
    from avatars.engine.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError) as engine_error:
        check_epsilon(0)
    with pytest.raises(ParameterError) as sdk_error:
        runner.set_parameters("wbcd", open_dp_epsilon=0)
    assert sdk_error.value.issues[0][1] in str(engine_error.value)
    for rows in (0, 2.5, 20_000):
        with pytest.raises(ParameterError, match=r"^dp_rows_per_individual: "):
            runner.set_parameters("wbcd", open_dp_epsilon=1.0, dp_rows_per_individual=rows)
    with pytest.raises(ValueError, match=r"dp_rows_per_individual: .* give open_dp_epsilon"):
        runner.set_parameters("wbcd", k=5, dp_rows_per_individual=2)
    # update_parameters keeps the budget
    runner.set_parameters("wbcd", open_dp_epsilon=2.0, ncp=3, dp_rows_per_individual=3)
    runner.update_parameters("wbcd", ncp=4)
    assert runner.config.avatarization_open_dp["wbcd"] == {
        "epsilon": 2.0,
        "ncp": 4,
        "rows_per_individual": 3,
    }


def _standard_refusal(runner: Any, dp_table: str) -> str:
    """The message of the standard job that avatarizes ``dp_table`` with ε = 1 (it fails)."""
    runner.set_parameters(dp_table, open_dp_epsilon=1.0)
    runner.run(jobs_to_run=[JobKind.standard])
    with pytest.raises(JobFailedError) as failed:
        runner.wait(JobKind.standard, timeout=120)
    return str(failed.value)


def test_identifiers_and_linked_schemas_are_refused(manager: Manager) -> None:
    runner = manager.create_runner("dp_identifier")
    runner.add_table("wbcd", pd.read_csv(PAPER / "wbcd.csv"))
    runner.set_parameters("wbcd", open_dp_epsilon=1.0)
    runner.run(jobs_to_run=[JobKind.standard])
    with pytest.raises(JobFailedError, match=r"'Sample_code_number' of table 'wbcd' identify"):
        runner.wait(JobKind.standard, timeout=120)

    parents = pd.DataFrame({"p_id": range(40), "age": [20 + i % 50 for i in range(40)]})
    children = pd.DataFrame(
        {
            "v_id": range(80),
            "p_id": [i % 40 for i in range(80)],
            "dose": [1.0 * i for i in range(80)],
        }
    )
    linked = manager.create_runner("dp_linked")
    linked.add_table("patient", parents, primary_key="p_id", individual_level=True)
    linked.add_table(
        "visit", children, primary_key="v_id", foreign_keys=["p_id"], individual_level=False
    )
    linked.add_link("patient", "p_id", "visit", "p_id")
    linked.set_parameters("visit", k=5)
    message = _standard_refusal(linked, "patient")
    assert "avatarization_open_dp (differential privacy) on a schema of linked" in message
    assert "unit of privacy" in message

    # two independent tables in one set: refused too, in words that do not speak of links
    independent = manager.create_runner("dp_independent")
    independent.add_table("patient", parents)
    independent.add_table("dose", children.drop(columns=["v_id", "p_id"]))
    independent.set_parameters("dose", k=5)
    message = _standard_refusal(independent, "patient")
    assert "on a schema of several tables (table(s) 'patient')" in message
    assert "in a set of its own, or use k" in message and "linked" not in message
