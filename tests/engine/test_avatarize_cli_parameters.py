"""``avatars avatarize``'s flags for the single-table parameters of issue 19: each runs the
engine call the server runs for the YAML parameter, and a bad value names the flag."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cli_runner import Ran, avatars
from parameter_tables import city_table, classes_table, missing_table


def run(*args: str, cwd: Path) -> Ran:
    return avatars("avatarize", *args, cwd=cwd)


def _csv(tmp_path: Path, name: str, table: pd.DataFrame) -> str:
    path = tmp_path / f"{name}.csv"
    table.to_csv(path, index=False)
    return str(path)


def _refused(out: Ran, *expected: str) -> None:
    message = " ".join(out.stderr.split())
    assert out.returncode == 2, out.stdout
    for part in expected:
        assert part in message, message


# -- data augmentation ----------------------------------------------------------------------------
def test_augment_minority_raises_the_smallest_class_to_the_largest(tmp_path: Path) -> None:
    source = _csv(tmp_path, "classes", classes_table())  # a: 180, b: 70, c: 50
    out = run(
        source, "-k", "10", "--seed", "2", "--augment", "minority", "--augment-target", "label",
        "--metrics-output", "metrics.json", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    avatars_ = pd.read_csv(tmp_path / "classes.avatars.csv")
    counts = avatars_["label"].value_counts()
    assert counts["c"] == 180  # exactly the requested count
    assert abs(counts["a"] - 180) <= 18 and abs(counts["b"] - 70) <= 14  # drawn, near theirs
    assert len(avatars_) == counts.sum() > 300
    # the privacy metrics of an augmented run: the three computation types
    assert "privacy metrics, barycentered:" in out.stdout
    assert "privacy metrics, class_balancing_barycenter:" in out.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["privacy_by_computation_type"]) == {
        "standalone", "barycentered", "class_balancing_barycenter",
    }  # fmt: skip
    assert metrics["avatarization"]["augmentation"]["classes"]["c"]["requested"] == 180


def test_augment_by_a_multiplier_and_keeping_the_originals(tmp_path: Path) -> None:
    table = classes_table()
    source = _csv(tmp_path, "classes", table)
    out = run(source, "-k", "10", "--seed", "2", "--augment", "1.5", "--no-metrics", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(pd.read_csv(tmp_path / "classes.avatars.csv")) == 450
    kept = run(
        source, "-k", "10", "--seed", "2", "--augment", "c=2", "--augment-target", "label",
        "--augment-keep-originals", "-o", "kept.csv", "--no-metrics", cwd=tmp_path,
    )  # fmt: skip
    assert kept.returncode == 0, kept.stderr
    assert "should_anonymize_original_table=false" in kept.stderr  # the warning
    output = pd.read_csv(tmp_path / "kept.csv")
    assert output["label"].value_counts().to_dict() == {"a": 180, "b": 70, "c": 100}
    # the 300 original records themselves are in the output (SENSITIVE, as asked)
    merged = output.merge(table.drop_duplicates(), how="inner")
    assert len(merged) >= 300


def test_bad_augmentation_names_the_flag(tmp_path: Path) -> None:
    source = _csv(tmp_path, "classes", classes_table())
    base = [source, "-k", "10", "--no-metrics"]
    # the protocol's words (server, SDK), after the flag
    _refused(
        run(*base, "--augment", "0.5", cwd=tmp_path),
        "error: --augment: data_augmentation.augmentation_strategy: a multiplier must be a "
        "number > 1, got 0.5",
    )
    _refused(
        run(*base, "--augment", "most", cwd=tmp_path),
        "--augment: data_augmentation.augmentation_strategy: expected a multiplier > 1, "
        "'minority', 'not_majority' or {modality: ratio}, got 'most'",
    )
    _refused(
        run(*base, "--augment", "minority", cwd=tmp_path),
        "--augment-target: data_augmentation: target_column is required with a minority",
    )
    _refused(
        run(*base, "--augment", "2", "--augment-target", "lable", cwd=tmp_path),
        "--augment-target names column(s) 'lable'",
    )
    _refused(
        run(*base, "--augment", "d=2", "--augment-target", "label", cwd=tmp_path),
        "--augment: invalid parameter 'augmentation_strategy': modality 'd'",
    )
    _refused(run(*base, "--augment-target", "label", cwd=tmp_path), "go with --augment")


# -- imputation -----------------------------------------------------------------------------------
def test_imputation_methods_reproduce_the_missing_rates(tmp_path: Path) -> None:
    table = missing_table()
    source = _csv(tmp_path, "missing", table)
    original_missing = table.isna().sum().to_dict()
    for method, extra in (
        ("mean", []),
        ("median", []),
        ("mode", []),
        ("knn", ["--imputation-k", "3"]),
        ("fast_knn", ["--imputation-k", "4", "--imputation-training-fraction", "0.5"]),
    ):
        out = run(
            source, "-k", "8", "--seed", "1", "--imputation", method, *extra,
            "-o", f"{method}.csv", "--metrics-output", f"{method}.json", cwd=tmp_path,
        )  # fmt: skip
        assert out.returncode == 0, (method, out.stderr)
        avatars_ = pd.read_csv(tmp_path / f"{method}.csv")
        assert avatars_.isna().sum().to_dict() == original_missing, method
        used = json.loads((tmp_path / f"{method}.json").read_text())["avatarization"]
        assert used["parameters"]["imputation"]["method"] == method
    used = json.loads((tmp_path / "fast_knn.json").read_text())["avatarization"]["parameters"]
    assert used["imputation"]["k"] == 4 and used["imputation"]["training_fraction"] == 0.5
    imputed = run(source, "-k", "8", "--seed", "1", "--imputation", "median",
                  "--imputation-return-data-imputed", "-o", "imputed.csv", "--no-metrics",
                  cwd=tmp_path)  # fmt: skip
    assert imputed.returncode == 0, imputed.stderr
    assert pd.read_csv(tmp_path / "imputed.csv").isna().sum().sum() == 0


def test_bad_imputation_names_the_flag(tmp_path: Path) -> None:
    source = _csv(tmp_path, "missing", missing_table())
    base = [source, "-k", "8", "--no-metrics"]
    # the protocol's words (server, SDK), after the flag
    _refused(
        run(*base, "--imputation", "zero", cwd=tmp_path),
        "error: --imputation: imputation.method: Input should be 'knn', 'mode', 'median', "
        "'mean' or 'fast_knn' (got 'zero')",
    )
    _refused(
        run(*base, "--imputation-k", "0", cwd=tmp_path),
        "--imputation-k: imputation.k: Input should be greater than or equal to 1 (got 0)",
    )
    _refused(
        run(*base, "--imputation-training-fraction", "1.5", cwd=tmp_path),
        "--imputation-training-fraction: imputation.training_fraction: Input should be less "
        "than or equal to 1 (got 1.5)",
    )


# -- categorical reduction and column weights -----------------------------------------------------
def test_categorical_reduction_on_a_200_modality_column(tmp_path: Path) -> None:
    table = city_table(n=400)
    source = _csv(tmp_path, "cities", table)
    out = run(
        source, "-k", "10", "--seed", "0", "--categorical-reduction",
        "--metrics-output", "metrics.json", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    used = json.loads((tmp_path / "metrics.json").read_text())["avatarization"]
    assert used["parameters"]["use_categorical_reduction"] is True
    assert used["projection"]["categorical_reduction"]["reduced"]["city"]["modalities"] == 200
    avatars_ = pd.read_csv(tmp_path / "cities.avatars.csv")
    assert set(avatars_["city"]) <= set(table["city"])  # real modalities only
    plain = run(source, "-k", "10", "--seed", "0", "-o", "plain.csv", "--no-metrics",
                cwd=tmp_path)  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert (tmp_path / "plain.csv").read_bytes() != (tmp_path / "cities.avatars.csv").read_bytes()
    refused = run(source, "--dp-epsilon", "1", "--categorical-reduction", cwd=tmp_path)
    _refused(refused, "--augment and --categorical-reduction go with -k")


def test_column_weights_enter_the_projection(tmp_path: Path) -> None:
    source = _csv(tmp_path, "classes", classes_table())
    common = [source, "-k", "10", "--seed", "4"]
    weighted = run(
        *common, "--column-weight", "u=5", "--column-weight", "w=0.5",
        "--metrics-output", "weighted.json", "-o", "weighted.csv", cwd=tmp_path,
    )  # fmt: skip
    assert weighted.returncode == 0, weighted.stderr
    used = json.loads((tmp_path / "weighted.json").read_text())
    assert used["avatarization"]["parameters"]["column_weights"] == {"u": 5.0, "w": 0.5}
    assert used["privacy"]["parameters"]["column_weights"] == {"u": 5.0, "w": 0.5}
    plain = run(*common, "-o", "plain.csv", "--no-metrics", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert (tmp_path / "weighted.csv").read_bytes() != (tmp_path / "plain.csv").read_bytes()
    base = [*common, "--no-metrics"]
    _refused(
        run(*base, "--column-weight", "u=-1", cwd=tmp_path),
        "--column-weight: column_weights.u: Input should be greater than 0 (got -1.0)",
    )
    _refused(run(*base, "--column-weight", "u", cwd=tmp_path),
             "--column-weight: expected COLUMN=WEIGHT (a number > 0), got 'u'")  # fmt: skip
    _refused(run(*base, "--column-weight", "x=2", cwd=tmp_path),
             "--column-weight names column(s) 'x'")  # fmt: skip


# -- the privacy metrics' target and quantile threshold -------------------------------------------
def test_target_and_quantile_threshold_reach_the_privacy_metrics(tmp_path: Path) -> None:
    source = _csv(tmp_path, "classes", classes_table())
    out = run(
        source, "-k", "10", "--seed", "1", "--known", "u,v", "--target", "label",
        "--quantile-threshold", "20", "--metrics-output", "metrics.json", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    privacy = json.loads((tmp_path / "metrics.json").read_text())["privacy"]
    assert privacy["parameters"]["target"] == "label"
    assert privacy["parameters"]["quantile_threshold"] == 20
    assert privacy["inference_categorical"] is not None  # target inference measured
    base = [source, "-k", "10", "--seed", "1"]
    _refused(
        run(*base, "--quantile-threshold", "200", cwd=tmp_path),
        "--quantile-threshold: quantile_threshold: Input should be less than or equal to 100 "
        "(got 200)",
    )
    _refused(run(*base, "--known", "u,label", "--target", "label", cwd=tmp_path),
             "--target: target 'label' must not be one of the known_variables")  # fmt: skip
    _refused(run(*base, "--ncp", "0", cwd=tmp_path),
             "--ncp: ncp: Input should be greater than or equal to 1 (got 0)")  # fmt: skip
