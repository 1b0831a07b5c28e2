"""``avatars avatarize``: a file in, avatars and every metric out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from avatars import data
from cli_runner import Ran, avatars


def run(*args: str, cwd: Path) -> Ran:
    return avatars("avatarize", *args, cwd=cwd)


def test_avatarize_a_csv_prints_every_metric_and_writes_the_outputs(tmp_path: Path) -> None:
    source = tmp_path / "wbcd.csv"
    data.load("wbcd").drop(columns="Sample_code_number").to_csv(source, index=False)
    out = run(
        str(source), "-k", "20", "--ncp", "2", "--seed", "3", "--categorical", "Class",
        "--unshuffled-output", "unshuffled.csv", "--metrics-output", "metrics.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for name in ("hidden_rate", "local_cloaking", "distance_to_closest", "hellinger_score"):
        assert name in out.stdout
    assert "pass" in out.stdout and "target" in out.stdout
    avatars = pd.read_csv(tmp_path / "wbcd.avatars.csv")
    unshuffled = pd.read_csv(tmp_path / "unshuffled.csv")
    assert avatars.shape == unshuffled.shape == (683, 10)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["avatarization"]["parameters"]["seed"] == 3
    assert 0 <= metrics["privacy"]["hidden_rate"] <= 100
    # the same seed gives the same file
    again = run(str(source), "-k", "20", "--ncp", "2", "--seed", "3", "--categorical", "Class",
                "-o", "again.csv", "--no-metrics", cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "wbcd.avatars.csv").read_bytes()


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "iris.csv"
    data.load("iris").to_csv(source, index=False)
    out = run(str(source), "-k", "500", cwd=tmp_path)
    assert out.returncode == 2
    assert "k=500" in out.stderr and "150 rows" in out.stderr
    out = run(str(source), "-k", "5", "--categorical", "nope", cwd=tmp_path)
    assert out.returncode == 2 and "'nope'" in out.stderr


# -- messages that name the real cause ---------------------------------------------------------
def _semicolon_csv(tmp_path: Path) -> Path:
    """The bundled AIDS table as many spreadsheets write it: `;`-separated, quoted names."""
    source = tmp_path / "aids.csv"
    table = data.load("aids").drop(columns=["pidnum", "zprior"])
    table.to_csv(source, index=False, sep=";", quoting=1)
    return source


def test_an_unknown_categorical_column_is_named_with_the_columns_the_file_has(
    tmp_path: Path,
) -> None:
    source = _semicolon_csv(tmp_path)
    out = run(str(source), "-k", "20", "--categorical", "gender,gendr", cwd=tmp_path)
    assert out.returncode == 2
    message = " ".join(out.stderr.split())
    assert "--categorical names column(s) 'gendr' that aids.csv does not have" in message
    assert "separator ';', detected" in message  # how the file was read
    assert "'gender'" in message and "25 column(s)" in message  # what it has
    assert "schema" not in message


def test_semicolon_lists_of_columns_are_explained(tmp_path: Path) -> None:
    source = _semicolon_csv(tmp_path)
    out = run(str(source), "-k", "20", "--exclude", "cd496;cd80", cwd=tmp_path)
    assert out.returncode == 2
    message = " ".join(out.stderr.split())
    assert "--exclude names column(s) 'cd496;cd80'" in message
    assert "separate column names with commas: --exclude cd496,cd80" in message


def test_a_semicolon_csv_with_commas_in_quoted_names_is_read_by_its_separator(
    tmp_path: Path,
) -> None:
    source = tmp_path / "measures.csv"
    rows = [f"{60 + i % 17};{150 + (7 * i) % 40};{'ab'[i % 2]}" for i in range(40)]
    source.write_text('"weight, kg";"height, cm";group\n' + "\n".join(rows) + "\n")
    out = run(str(source), "-k", "5", "--seed", "1", "--categorical", "group", "--no-metrics",
              cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    avatars = pd.read_csv(tmp_path / "measures.avatars.csv")
    assert list(avatars.columns) == ["weight, kg", "height, cm", "group"]


def test_a_file_read_as_one_column_says_which_separator_was_used(tmp_path: Path) -> None:
    source = tmp_path / "piped.csv"
    source.write_text("a|b\n" + "\n".join(f"{i}|{i % 3}" for i in range(30)) + "\n")
    out = run(str(source), "-k", "5", "--categorical", "b", cwd=tmp_path)
    assert out.returncode == 2
    message = " ".join(out.stderr.split())
    assert "--categorical names column(s) 'b'" in message
    assert "separator ','" in message and "1 column(s): 'a|b'" in message
    assert "separated by another character" in message


def test_a_value_that_cannot_be_read_names_the_separator(tmp_path: Path) -> None:
    source = tmp_path / "decimal_comma.csv"
    rows = [f"{60 + i % 17},{i % 10};{i % 3}" for i in range(40)]
    source.write_text("weight;group\n" + "\n".join(rows) + "\n")
    out = run(str(source), "-k", "5", "--type", "weight=float", cwd=tmp_path)
    assert out.returncode == 2
    message = " ".join(out.stderr.split())
    assert "column 'weight': cannot be read as float" in message and "'60,0'" in message
    assert "decimal_comma.csv read as CSV with separator ';'" in message


# -- identifiers, pseudonymization, holdout, verdict (issue 15) --------------------------------
def _patients(tmp_path: Path) -> Path:
    """The example patients with an e-mail column: an ID and a direct identifier."""
    table = pd.read_csv(
        Path(__file__).resolve().parent.parent / "data" / "examples" / "patient.csv"
    )
    table["email"] = [f"patient.{i}@hospital.example.fr" for i in range(len(table))]
    source = tmp_path / "patients.csv"
    table.to_csv(source, index=False)
    return source


def test_identifiers_are_refused_with_the_flags_to_choose(tmp_path: Path) -> None:
    source = _patients(tmp_path)
    out = run(str(source), "-k", "10", "--seed", "1", cwd=tmp_path)
    assert out.returncode == 2
    assert "'p_id' is a sequence of integers (0 to 129" in out.stderr
    assert "'email' holds e-mail addresses" in out.stderr
    assert "--drop p_id   |   --key p_id   |   --pseudonymize p_id=UUID4" in out.stderr
    assert "--pseudonymize email=FAKER:EMAIL" in out.stderr
    assert not (tmp_path / "patients.avatars.csv").exists()
    # excluding the ID is not enough: only an explicit row order re-attaches it, with a warning
    out = run(str(source), "-k", "10", "--exclude", "p_id", "--drop", "email", cwd=tmp_path)
    assert out.returncode == 2 and "'p_id'" in out.stderr
    out = run(str(source), "-k", "10", "--seed", "1", "--exclude", "p_id=row_order",
              "--drop", "email", cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "warning: identifier column(s) re-attached by row order" in out.stderr
    assert "privacy verdict: Fail" in out.stdout and "Identifier protection" in out.stdout


def test_the_safe_path_keys_pseudonyms_holdout_and_a_verdict(tmp_path: Path) -> None:
    source = _patients(tmp_path)
    original = pd.read_csv(source)
    holdout = tmp_path / "holdout.csv"
    original.sample(40, random_state=0).to_csv(holdout, index=False)  # any same-shape records
    out = run(
        str(source), "-k", "10", "--seed", "1", "--key", "p_id",
        "--pseudonymize", "email=FAKER:EMAIL", "--holdout", str(holdout),
        "--metrics-output", "metrics.json", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    avatars = pd.read_csv(tmp_path / "patients.avatars.csv")
    assert list(avatars.columns) == list(original.columns)
    assert not set(avatars["p_id"]) & set(original["p_id"])
    assert avatars["email"].str.endswith(("@example.org", "@example.com", "@example.net")).all()
    for name in ("unique_copy_share", "identifier_protection", "dcr_share",
                 "membership_inference_auc"):  # fmt: skip
        assert name in out.stdout
    assert "privacy verdict: " in out.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["privacy"]["verdict"]["status"] in ("pass", "fail")
    assert metrics["privacy"]["parameters"]["exclude_variables"] == ["p_id", "email"]
    assert metrics["avatarization"]["parameters"]["pseudonymized"]["email"]["kind"] == "FAKER"


def test_hash_pseudonyms_are_keyed_by_the_secret(tmp_path: Path) -> None:
    source = _patients(tmp_path)
    common = [str(source), "-k", "10", "--seed", "1", "--key", "p_id",
              "--pseudonymize", "email=HASH_SHA256", "--no-metrics"]  # fmt: skip
    first = run(*common, "--secret", "s3cret", "-o", "a.csv", cwd=tmp_path)
    second = run(*common, "--secret", "s3cret", "-o", "b.csv", cwd=tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    random_key = run(*common, "-o", "c.csv", cwd=tmp_path)
    assert "random secret drawn for this run and kept nowhere" in random_key.stdout
    assert (tmp_path / "c.csv").read_bytes() != (tmp_path / "a.csv").read_bytes()


def test_advise_prints_the_parameters_that_meet_the_targets(tmp_path: Path) -> None:
    source = tmp_path / "wbcd.csv"
    data.load("wbcd").to_csv(source, index=False)
    out = avatars(
        "advise", str(source), "--target-hidden-rate", "0.9", "--target-dcr-share", "0.75",
        "--key", "Sample_code_number", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    advice = json.loads(out.stdout)
    assert advice["targets"] == {"hidden_rate": "> 90", "dcr_share": "< 75"}
    assert advice["met"] is (out.returncode == 0)
    assert isinstance(advice["k"], int) and isinstance(advice["ncp"], int)
    assert set(advice["measured"]) >= {"hidden_rate", "dcr_share", "hellinger_score"}
    assert advice["holdout"] == "split" and "trials" not in advice
    if advice["met"]:
        assert advice["measured"]["hidden_rate"] > 90 and advice["measured"]["dcr_share"] < 75
    # the identifier is refused here too
    refused = avatars("advise", str(source), "--target-hidden-rate", "90", cwd=tmp_path)
    assert refused.returncode == 2 and "'Sample_code_number'" in refused.stderr


def test_differentially_private_avatars_without_k(tmp_path: Path) -> None:
    source = tmp_path / "wbcd.csv"
    data.load("wbcd").to_csv(source, index=False)
    refused = run(str(source), "--dp-epsilon", "1.0", "--no-metrics", cwd=tmp_path)
    assert refused.returncode == 2 and "Sample_code_number" in refused.stderr
    base = [str(source), "--drop", "Sample_code_number", "--seed", "1"]
    open_dp = run(*base, "--dp-epsilon", "1.0", "--no-metrics", cwd=tmp_path)
    assert open_dp.returncode == 0, open_dp.stderr
    assert "ε-differentially private with ε = 1" in open_dp.stderr
    persons = run(*base, "--dp-epsilon", "1.0", "--dp-rows-per-individual", "2", "--no-metrics",
                  "-o", "persons.csv", cwd=tmp_path)  # fmt: skip
    assert persons.returncode == 0, persons.stderr
    assert "for one individual, who holds at most 2 rows of the table" in persons.stderr
    fast = run(*base, "--dp-epsilon", "2", "--dp-method", "fast", "--dp-mechanism", "histogram",
               "--no-metrics", "-o", "fast.csv", cwd=tmp_path)  # fmt: skip
    assert fast.returncode == 0, fast.stderr
    assert "NOT differentially private end to end" in fast.stderr
    assert pd.read_csv(tmp_path / "fast.csv").shape == (683, 10)
    for args, message in (
        (["-k", "5", "--dp-epsilon", "1"], "-k and --dp-epsilon are exclusive"),
        (["--dp-epsilon", "0"], "--dp-epsilon: invalid parameter 'epsilon': expected a number"),
        ([], "give -k (avatars) or --dp-epsilon"),
        (
            ["--dp-epsilon", "1", "--dp-rows-per-individual", "0"],
            "--dp-rows-per-individual: differential_privacy.rows_per_individual: Input should "
            "be greater than or equal to 1",
        ),
        (["-k", "5", "--dp-rows-per-individual", "2"], "go with --dp-epsilon (not -k)"),
    ):
        out = run(*base, *args, "--no-metrics", cwd=tmp_path)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
