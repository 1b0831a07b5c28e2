"""Time and utility of DP avatars against k-avatars and SmartNoise-Synth's MST.

    python benchmarks/dp_utility.py                       # 50,000 rows, ε = 1 and 10
    python benchmarks/dp_utility.py --rows 5000 --epsilon 1 --no-smartnoise

The table is ``avatars.data.synthetic.synthetic_patients(rows, seed=0)`` (10 numeric, 6
categorical columns, a few % missing). For each method: wall-clock time, mean Hellinger
distance and mean absolute correlation difference (``signal_metrics``), and the AUC of a
classifier trained on the method's output to predict ``smoker`` from the other columns,
tested on 10,000 fresh real rows (``synthetic_patients(10_000, seed=1)``; "train on
synthetic, test on real"). The classifier trained on the original gives the ceiling.

Methods: ``open_dp`` (AvatarOpenDP, ε-DP), ``fast_dp`` (AvatarFastDP, gaussian, not end to
end), ``k_avatars`` (k = 20, no DP), and ``smartnoise_mst``: SmartNoise-Synth 1.0.8's
``MSTSynthesizer`` run directly, with ``preprocessor_eps = 0.3 ε`` for the bounds of the
continuous columns (its BinTransformer, 10 bins) and ``delta = 1e-9`` (its MST is
(ε, δ)-DP through zero-concentrated DP: a weaker guarantee than our pure ε).

SmartNoise is not a dependency of the project: it pins ``opendp < 0.15`` (ours is 0.16) and
pulls torch and opacus, which MST does not use. The benchmark runs it in its own virtual
environment, created on first use (``--smartnoise-venv``, default
``~/.cache/avatars/smartnoise-venv``) with exactly::

    python3 -m venv VENV
    VENV/bin/pip install --no-deps smartnoise-synth==1.0.8 smartnoise-sql==1.0.10
    VENV/bin/pip install mbi==1.1.0 opendp==0.14.1 "disjoint-set>=0.9,<0.10" Faker \\
        antlr4-python3-runtime==4.9.3 PyYAML graphviz sqlalchemy "pandas<3" scipy networkx

(no torch, opacus or pac-synth: ``snsynth.mst`` never imports them). The table goes to it as
CSV and the synthetic table comes back as CSV.

Measured (50,000 rows, 2 shared cores loaded by other test runs; AUC ceiling 0.660 trained
on the original; FastDP with its DP marginals, see ``engine/dp/fast_dp.py``)::

    method                                      seconds  Hellinger  corr. diff.  AUC
    k_avatars k=20                                 12.5     0.069       0.019     0.638
    open_dp ε=1                                    19.6     0.075       0.028     0.644
    fast_dp ε=1                                     3.9     0.051       0.021     0.640
    smartnoise_mst ε=1 δ=1e-9 (bin midpoints)     561.9     0.537       0.137     0.553
    smartnoise_mst ε=1 δ=1e-9 (within bins)       561.9     0.070       0.134     0.556
    open_dp ε=10                                    5.4     0.078       0.018     0.646
    fast_dp ε=10                                    2.6     0.045       0.022     0.640
    smartnoise_mst ε=10 δ=1e-9 (bin midpoints)    242.6     0.553       0.129     0.549
    smartnoise_mst ε=10 δ=1e-9 (within bins)      242.6     0.077       0.124     0.567

SmartNoise's implausible Hellinger (0.54, flat in ε) was its decoding, not its noise: its
BinTransformer gives every value of a binned continuous column its bin's midpoint, so each
column has at most 10 distinct values, over bounds that its ``approx_bounds`` rounds to powers
of two (``sbp`` in [64, 256] for values in [73, 162]: half the bins empty). Drawing each value
uniformly within its bin (post-processing, no budget: the "within bins" rows) brings it to
0.07-0.08, like ours. Its correlation difference and AUC stay poor at both ε: those coarse
bins lose the within-bin ordering the classifier and the correlations need (not investigated
further). Its time is dominated by private-pgm's mirror descent (5,000 iterations, jax on the
CPU), whatever the number of rows. If its venv cannot be installed, the output says so and the
other methods are still measured.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SMARTNOISE_PACKAGES_NO_DEPS = ["smartnoise-synth==1.0.8", "smartnoise-sql==1.0.10"]
SMARTNOISE_PACKAGES = [
    "mbi==1.1.0",
    "opendp==0.14.1",
    "disjoint-set>=0.9,<0.10",
    "Faker",
    "antlr4-python3-runtime==4.9.3",
    "PyYAML",
    "graphviz",
    "sqlalchemy",
    "pandas<3",
    "scipy",
    "networkx",
]
TARGET = "smoker"
CONTINUOUS = [
    "age", "bmi", "sbp", "dbp", "cholesterol", "glucose", "heart_rate", "income",
    "length_of_stay", "n_visits",
]  # fmt: skip

SMARTNOISE_CHILD = """
import json, sys, time
import numpy as np
import pandas as pd
from snsynth.mst import MSTSynthesizer
source, target, epsilon, continuous = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
table = pd.read_csv(source)
continuous = continuous.split(",")
categorical = [c for c in table.columns if c not in continuous]
started = time.perf_counter()
synth = MSTSynthesizer(epsilon=epsilon, delta=1e-9)
synth.fit(table, categorical_columns=categorical, continuous_columns=continuous,
          preprocessor_eps=0.3 * epsilon, nullable=True)
out = pd.DataFrame(synth.sample(len(table)), columns=table.columns)
seconds = time.perf_counter() - started
# SmartNoise decodes a binned value as its bin's midpoint; the bins (its BinTransformer's DP
# bounds, 10 bins) are written out so that the parent can also draw within them
bins = {}
for column, transformer in zip(table.columns, synth._transformer.transformers):
    if column in continuous:
        bins[column] = [transformer.fit_lower, transformer.fit_upper, transformer.bins]
out.to_csv(target, index=False)
print(json.dumps({"seconds": seconds, "bins": bins}))
"""


class SmartNoiseUnavailable(RuntimeError):
    """SmartNoise-Synth could not be installed in its own venv (said in the output)."""


def smartnoise_python(venv: Path) -> Path:
    """The venv's python, the venv made with exactly the pinned packages: its folder is named
    after the pins (``VENV-<hash>``), so that a venv made with other versions is never reused
    (an earlier one had pandas 3 and disjoint-set 0.8)."""
    pins = "\n".join([*SMARTNOISE_PACKAGES_NO_DEPS, *SMARTNOISE_PACKAGES])
    venv = venv.with_name(f"{venv.name}-{hashlib.sha256(pins.encode()).hexdigest()[:8]}")
    python = venv / "bin" / "python"
    if (venv / "pins.txt").exists():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "--quiet"]
        subprocess.run([*pip, "--no-deps", *SMARTNOISE_PACKAGES_NO_DEPS], check=True)
        subprocess.run([*pip, *SMARTNOISE_PACKAGES], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SmartNoiseUnavailable(f"installing {pins.splitlines()} failed: {exc}") from exc
    (venv / "pins.txt").write_text(pins)
    return python


def run_smartnoise(
    table: pd.DataFrame, epsilon: float, venv: Path
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """SmartNoise's synthetic table as it decodes it (bin midpoints), the same with each
    continuous value drawn uniformly within its bin (post-processing: no budget), and the
    seconds of its fit and sampling."""
    python = smartnoise_python(venv)
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.csv", Path(folder) / "out.csv"
        table.to_csv(source, index=False)
        done = subprocess.run(
            [str(python), "-c", SMARTNOISE_CHILD, str(source), str(target), str(epsilon),
             ",".join(CONTINUOUS)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        report = json.loads(done.stdout.strip().splitlines()[-1])
        synthetic = pd.read_csv(target)
    for column in table.columns:  # back to the original's types where the values allow it
        if column in CONTINUOUS:
            synthetic[column] = pd.to_numeric(synthetic[column], errors="coerce")
        else:
            synthetic[column] = synthetic[column].astype(object).where(synthetic[column].notna())
    within = synthetic.copy()
    rng = np.random.default_rng(0)
    for column, (low, high, bins) in report["bins"].items():
        width = (float(high) - float(low)) / int(bins)
        values = within[column].to_numpy(dtype=float)
        values = values + rng.uniform(-width / 2, width / 2, size=len(values))
        if pd.api.types.is_integer_dtype(table[column]):
            values = np.round(values)
        within[column] = values
    columns = list(table.columns)
    return synthetic[columns], within[columns], float(report["seconds"])


def auc(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """Train on ``train``, score on ``test``: AUC of predicting ``smoker == 'yes'``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train = train[train[TARGET].notna()]
    test = test[test[TARGET].notna()]
    features = [c for c in test.columns if c != TARGET]
    categorical = [c for c in features if c not in CONTINUOUS]
    model = make_pipeline(
        ColumnTransformer(
            [("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
              categorical)],
            remainder="passthrough",
        ),
        HistGradientBoostingClassifier(random_state=0),
    )  # fmt: skip
    y_train = (train[TARGET].astype(str) == "yes").to_numpy()
    if y_train.all() or not y_train.any():
        return float("nan")
    model.fit(train[features].astype({c: str for c in categorical}), y_train)
    scores = model.predict_proba(test[features].astype({c: str for c in categorical}))[:, 1]
    return float(roc_auc_score((test[TARGET].astype(str) == "yes").to_numpy(), scores))


def measure(name: str, table: pd.DataFrame, holdout: pd.DataFrame, output: pd.DataFrame,
            seconds: float) -> dict[str, object]:  # fmt: skip
    from avatars.engine import signal_metrics

    signal = signal_metrics(table, output).details
    return {
        "method": name,
        "seconds": round(seconds, 2),
        "hellinger_mean": round(signal["hellinger"]["mean"], 4),
        "correlation_difference": round(signal["correlation"]["mean_abs_difference"], 4),
        "auc_train_on_output": round(auc(output, holdout), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--epsilon", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--no-smartnoise", action="store_true")
    parser.add_argument(
        "--smartnoise-venv",
        type=Path,
        default=Path(os.path.expanduser("~/.cache/avatars/smartnoise-venv")),
    )
    args = parser.parse_args()

    from avatars.data.synthetic import synthetic_patients
    from avatars.engine import avatarize
    from avatars.engine.dp import avatarize_fast_dp, avatarize_open_dp

    table = synthetic_patients(args.rows, seed=0)
    holdout = synthetic_patients(10_000, seed=1)
    rows = [
        {"method": "original (ceiling)", "seconds": 0.0, "hellinger_mean": 0.0,
         "correlation_difference": 0.0, "auc_train_on_output": round(auc(table, holdout), 4)}
    ]  # fmt: skip
    started = time.perf_counter()
    k_avatars = avatarize(table, k=20, ncp=5, seed=0).shuffled
    rows.append(measure("k_avatars k=20", table, holdout, k_avatars,
                        time.perf_counter() - started))  # fmt: skip
    smartnoise_error: str | None = None
    for epsilon in args.epsilon:
        started = time.perf_counter()
        output = avatarize_open_dp(table, epsilon=epsilon, seed=0).shuffled
        rows.append(measure(f"open_dp ε={epsilon:g}", table, holdout, output,
                            time.perf_counter() - started))  # fmt: skip
        started = time.perf_counter()
        output = avatarize_fast_dp(table, epsilon=epsilon, seed=0).shuffled
        rows.append(measure(f"fast_dp ε={epsilon:g}", table, holdout, output,
                            time.perf_counter() - started))  # fmt: skip
        if not args.no_smartnoise and smartnoise_error is None:
            try:
                midpoints, within, seconds = run_smartnoise(table, epsilon, args.smartnoise_venv)
            except SmartNoiseUnavailable as exc:
                smartnoise_error = str(exc)
                continue
            rows.append(measure(f"smartnoise_mst ε={epsilon:g} δ=1e-9 (bin midpoints)",
                                table, holdout, midpoints, seconds))  # fmt: skip
            rows.append(measure(f"smartnoise_mst ε={epsilon:g} δ=1e-9 (within bins)",
                                table, holdout, within, seconds))  # fmt: skip
    print(pd.DataFrame(rows).to_string(index=False))
    if args.no_smartnoise:
        print("smartnoise_mst: not run (--no-smartnoise)")
    elif smartnoise_error is not None:
        print(f"smartnoise_mst: NOT RUN, SmartNoise-Synth could not be installed: "
              f"{smartnoise_error}")  # fmt: skip
    print(json.dumps({"rows": args.rows, "results": rows, "smartnoise_error": smartnoise_error},
                     ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
