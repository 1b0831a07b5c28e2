"""Our FAMD against saiph's (Octopize's projection library): time, peak memory, agreement.

    python benchmarks/projection_vs_saiph.py --saiph-python /path/to/venv/bin/python
    python benchmarks/projection_vs_saiph.py --rows 1000000 --saiph-python ...

Why this exists: the Engine issue let us build on ``saiph`` or implement method.md §1.6
ourselves, "decided by measurement". This script is that measurement. Both sides get the same
complete table (``avatars.data.synthetic.synthetic_patients``, its few missing values filled
with the column mean or mode, because saiph does not impute), fit a FAMD and project every row
onto the first ``ncp`` axes. saiph runs twice: with its exact full SVD, and with the randomized
truncated SVD it switches to when asked for ``nf`` axes (what an avatarization with ``ncp``
asks of it). Each side runs in a fresh process so its peak resident memory is
its own. saiph usually lives in another virtual environment (it pins its own numpy/pandas), so
``--saiph-python`` names that interpreter; it only needs ``saiph``, ``pandas`` and ``pyarrow``.

Agreement is the largest absolute difference between the two coordinate sets after aligning the
sign of each axis (an eigenvector's sign is arbitrary), relative to the axis' spread.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

OURS = """
import json, resource, sys, time
import numpy as np, pandas as pd
from avatars.engine.preprocessing import TableEncoder
from avatars.engine.projection import Projection
table = pd.read_parquet(sys.argv[1]); ncp = int(sys.argv[2])
started = time.perf_counter()
encoder = TableEncoder.fit(table)
encoded = encoder.encode(table)
projection = Projection.fit(encoded, encoder.n_modalities())
coordinates = projection.transform(encoded, ncp)
seconds = time.perf_counter() - started
np.save(sys.argv[3], coordinates)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
print(json.dumps({"seconds": seconds, "peak_rss_gb": rss}))
"""

SAIPH = """
import json, resource, sys, time
import numpy as np, pandas as pd
import saiph
table = pd.read_parquet(sys.argv[1]); ncp = int(sys.argv[2]); exact = sys.argv[4] == "exact"
for name in table.columns:
    if not pd.api.types.is_numeric_dtype(table[name]):
        table[name] = table[name].astype(object)
started = time.perf_counter()
# nf=None: saiph's full SVD; nf=ncp: its randomized truncated SVD (what a run with ncp asks for)
coordinates, _ = saiph.fit_transform(table, nf=None if exact else ncp, seed=0)
coordinates = coordinates.iloc[:, :ncp]
seconds = time.perf_counter() - started
np.save(sys.argv[3], coordinates.to_numpy())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
print(json.dumps({"seconds": seconds, "peak_rss_gb": rss}))
"""


def complete_table(rows: int):
    """The benchmark table with its missing values filled (mean, or mode for categories)."""
    from avatars.data.synthetic import synthetic_patients

    table = synthetic_patients(rows, seed=0)
    for name in table.columns:
        column = table[name]
        if column.isna().any():
            if column.dtype.kind in "if":
                table[name] = column.fillna(column.mean()).astype(column.dtype)
            else:
                table[name] = column.fillna(column.mode().iloc[0])
    return table


def run(python: str, code: str, data: Path, ncp: int, out: Path, *extra: str) -> dict[str, float]:
    done = subprocess.run(
        [python, "-c", code, str(data), str(ncp), str(out), *extra],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def agreement(ours, theirs) -> float:
    """Largest |difference| over all rows and axes after sign alignment, ÷ the axis' std."""
    import numpy as np

    worst = 0.0
    for axis in range(ours.shape[1]):
        a, b = ours[:, axis], theirs[:, axis]
        if np.dot(a, b) < 0:
            b = -b
        worst = max(worst, float(np.max(np.abs(a - b)) / max(np.std(a), 1e-300)))
    return worst


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--ncp", type=int, default=5)
    parser.add_argument(
        "--saiph-python",
        default=sys.executable,
        help="an interpreter that can import saiph (default: this one)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "table.parquet"
        complete_table(args.rows).to_parquet(data)
        print(f"FAMD of {args.rows:,} rows × 16 columns, ncp = {args.ncp}")
        ours = run(sys.executable, OURS, data, args.ncp, Path(tmp) / "ours.npy")
        print(f"  ours : {ours['seconds']:7.2f} s   peak {ours['peak_rss_gb']:.2f} GB")
        coordinates = np.load(Path(tmp) / "ours.npy")
        for variant, label in (("exact", "full SVD"), ("randomized", "randomized SVD, nf=ncp")):
            out = Path(tmp) / f"saiph-{variant}.npy"
            try:
                theirs = run(args.saiph_python, SAIPH, data, args.ncp, out, variant)
            except subprocess.CalledProcessError as error:
                last = (error.stderr or "").strip().splitlines()[-1:] or ["(no message)"]
                print(f"  saiph: not measured ({last[0]}); pass --saiph-python")
                return
            print(f"  saiph, {label}:")
            print(f"    {theirs['seconds']:7.2f} s   peak {theirs['peak_rss_gb']:.2f} GB")
            print(f"    time ours ÷ saiph: {ours['seconds'] / theirs['seconds']:.2f}")
            print(
                f"    peak memory ours ÷ saiph: {ours['peak_rss_gb'] / theirs['peak_rss_gb']:.2f}"
            )
            difference = agreement(coordinates, np.load(out))
            print(
                f"    largest coordinate difference (÷ axis std, signs aligned): {difference:.1e}"
            )


if __name__ == "__main__":
    main()
