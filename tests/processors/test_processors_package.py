"""The package as notebooks see it: the official client's names and constructor signatures,
two-line examples that run, an SDK-only import, and the top-level re-exports."""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import avatars
import avatars.processors as processors
from avatars.processors import Processor

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL = ROOT / ".cache/interop/venv-1.30.0/lib/python3.12/site-packages"

CLIENT_130 = [
    "DatetimeProcessor",
    "ExpectedMeanProcessor",
    "GeolocationNormalizationProcessor",
    "GroupModalitiesProcessor",
    "InterRecordBoundedCumulatedDifferenceProcessor",
    "InterRecordBoundedRangeDifferenceProcessor",
    "InterRecordCumulatedDifferenceProcessor",
    "PerturbationProcessor",
    "ProportionProcessor",
    "ToCategoricalProcessor",
]
OLDER = ["InterRecordRangeDifferenceProcessor", "RelativeDifferenceProcessor"]
ALL = CLIENT_130 + OLDER


def _signature(cls: type) -> list[tuple[str, str, str | None]]:
    """``(name, POS|KW, repr(default))`` of the constructor's parameters."""
    return [
        (
            p.name,
            "KW" if p.kind is p.KEYWORD_ONLY else "POS",
            None if p.default is p.empty else repr(p.default),
        )
        for p in inspect.signature(cls).parameters.values()
    ]


@pytest.fixture(scope="module")
def official_source() -> Path:
    """The official client 1.30's installed source. Its venv is built by the interop tests'
    helper (tests/interop/venvs.py, which waits while another process builds it); in CI
    (``AVATAR_TEST_REQUIRE_INTEROP=1``) a missing venv is built now, else the test skips."""
    if not OFFICIAL.exists():
        if os.environ.get("AVATAR_TEST_REQUIRE_INTEROP") != "1":
            pytest.skip("official client 1.30 not in .cache/interop (tests/interop/venvs.py)")
        built = subprocess.run(
            [sys.executable, str(ROOT / "tests/interop/venvs.py"), "1.30.0"],
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert built.returncode == 0 and OFFICIAL.exists(), built.stderr[-3000:]
    return OFFICIAL


def _official_signatures() -> dict[str, list[tuple[str, str, str | None]]]:
    """The same, read from the official client's source (not imported: Python 3.12 code)."""
    found: dict[str, list[tuple[str, str, str | None]]] = {}
    for path in sorted((OFFICIAL / "avatars" / "processors").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ClassDef):
                continue
            inits = [
                n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"
            ]
            params: list[tuple[str, str, str | None]] = []
            for init in inits:
                args = init.args
                positional = [*args.posonlyargs, *args.args][1:]  # without self
                defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
                params += [
                    (a.arg, "POS", None if d is None else repr(ast.literal_eval(d)))
                    for a, d in zip(positional, defaults, strict=True)
                ]
                params += [
                    (a.arg, "KW", None if d is None else repr(ast.literal_eval(d)))
                    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                ]
            found[node.name] = params
    return found


def test_the_official_names_are_exported() -> None:
    assert set(ALL) <= set(processors.__all__)
    for name in processors.__all__:
        assert getattr(processors, name) is not None


def test_the_official_client_exports_the_same_names(official_source: Path) -> None:
    tree = ast.parse((official_source / "avatars/processors/__init__.py").read_text())
    (exported,) = [
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "__all__"
    ]
    assert sorted(exported) == CLIENT_130


def test_constructors_match_the_official_client(official_source: Path) -> None:
    official = _official_signatures()
    assert sorted(official) == CLIENT_130
    for name, expected in official.items():
        assert _signature(getattr(processors, name)) == expected, name


def test_older_processors_keep_their_last_published_signatures() -> None:
    """As the official client had them (octopize/avatar-python, before their removal)."""
    assert _signature(processors.RelativeDifferenceProcessor) == [
        ("target", "POS", None),
        ("references", "POS", None),
        ("scaling_unit", "POS", "None"),
        ("target_rename", "POS", "None"),
        ("drop_original_target", "POS", "False"),
    ]
    assert _signature(processors.InterRecordRangeDifferenceProcessor) == [
        ("id_variable", "KW", None),
        ("target_start_variable", "KW", None),
        ("target_end_variable", "KW", None),
        ("sort_by_variable", "KW", None),
        ("new_first_variable", "KW", None),
        ("new_range_variable", "KW", None),
        ("new_difference_variable", "KW", None),
        ("keep_record_order", "KW", "False"),
    ]


def test_server_side_processor_parameters_are_importable_here() -> None:
    from avatars.protocol import parameters

    assert processors.RelativeDifferenceParameters is parameters.RelativeDifferenceParameters
    assert (
        processors.InterRecordRangeDifferenceParameters
        is parameters.InterRecordRangeDifferenceParameters
    )
    spec = processors.RelativeDifferenceParameters(target="t1", references=["t0"], scaling_unit=2)
    assert spec.model_dump(exclude_none=True) == {
        "target": "t1",
        "references": ["t0"],
        "scaling_unit": 2,
    }


# -- the docstring examples run -----------------------------------------------------------

RNG = np.random.default_rng(0)
N = 60
IDS = RNG.integers(0, 8, N)
STARTS = RNG.integers(0, 1000, N)

#: For each processor, a table with the columns its example names.
TABLES: dict[str, pd.DataFrame] = {
    "DatetimeProcessor": pd.DataFrame(
        {"visit": pd.Timestamp("2020-01-01") + pd.to_timedelta(RNG.integers(0, 10**8, N), "s")}
    ),
    "ExpectedMeanProcessor": pd.DataFrame(
        {"weight": RNG.normal(70, 10, N), "sex": RNG.choice(["f", "m"], N)}
    ),
    "GeolocationNormalizationProcessor": pd.DataFrame(
        {"lat": RNG.uniform(43, 50, N), "lon": RNG.uniform(-4, 8, N)}
    ),
    "GroupModalitiesProcessor": pd.DataFrame(
        {"city": RNG.choice([f"c{i}" for i in range(15)], N, p=[0.5] + [0.5 / 14] * 14)}
    ),
    "InterRecordBoundedCumulatedDifferenceProcessor": pd.DataFrame(
        {"id": IDS, "weight": RNG.integers(40, 120, N)}
    ),
    "InterRecordBoundedRangeDifferenceProcessor": pd.DataFrame(
        {"id": IDS, "start": STARTS, "end": STARTS + RNG.integers(-50, 50, N), "visit": range(N)}
    ),
    "InterRecordCumulatedDifferenceProcessor": pd.DataFrame(
        {"id": IDS, "dose": RNG.integers(0, 500, N)}
    ),
    "InterRecordRangeDifferenceProcessor": pd.DataFrame(
        {"id": IDS, "start": STARTS, "end": STARTS + RNG.integers(0, 50, N), "visit": range(N)}
    ),
    "PerturbationProcessor": pd.DataFrame({"age": RNG.integers(18, 90, N).astype(float)}),
    "ProportionProcessor": (
        lambda parts: pd.DataFrame(
            {"spending": parts.sum(axis=1), "rent": parts[:, 0], "food": parts[:, 1]}
        )
    )(RNG.integers(0, 5000, (N, 2)) / 10),
    "RelativeDifferenceProcessor": (
        lambda t0: pd.DataFrame({"age_at_t0": t0, "age_at_t1": t0 + RNG.integers(0, 9, N)})
    )(RNG.integers(18, 90, N)),
    "ToCategoricalProcessor": pd.DataFrame({"grade": RNG.integers(1, 6, N)}),
}


def _example(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    assert "Example::" in doc, f"{cls.__name__} has no example"
    block = doc.split("Example::", 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip()


@pytest.mark.parametrize("name", ALL)
def test_docstring_example_has_two_statements_and_runs(name: str) -> None:
    cls = getattr(processors, name)
    code = _example(cls)
    assert len(ast.parse(code).body) == 2, code
    df = TABLES[name]
    namespace: dict[str, Any] = {
        name: cls,
        "df": df,
        "avatarize": lambda table: table.copy(),  # an identity "avatarization"
        "unshuffled_avatars": df.assign(age=df["age"] + 10) if "age" in df else None,
    }
    exec(compile(code, f"<{name} example>", "exec"), namespace)
    processor = namespace["p"]
    assert isinstance(processor, Processor)
    if name == "GroupModalitiesProcessor":
        counts = df["city"].value_counts()
        rare = df["city"].map(counts) <= 5
        assert (namespace["avatars"]["city"][rare] == "other").all()
        assert (namespace["avatars"]["city"][~rare] == df["city"][~rare]).all()
    elif name == "PerturbationProcessor":
        assert np.allclose(namespace["closer"]["age"], df["age"] + 5)
    else:
        restored = namespace["avatars"]
        assert list(restored.columns) == list(df.columns)
        for column in df.columns:
            if pd.api.types.is_numeric_dtype(df[column]):
                assert np.allclose(restored[column].astype(float), df[column].astype(float))
            else:
                assert restored[column].equals(df[column])


# -- what importing costs, the top-level names ------------------------------------------------

_CHECK = """
import json, sys
import avatars.processors
from avatars import FakeDataStrategy, PiiType
print(json.dumps(sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("sklearn", "scipy", "fastapi", "sqlalchemy", "httpx")
    or m.startswith(("avatars.engine", "avatars.server", "avatars.client", "avatars.runner"))
)))
"""


def test_importing_processors_loads_no_engine_server_or_http_stack() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CHECK], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


PSEUDONYMIZATION = [
    "ConstantStrategy",
    "FakeDataStrategy",
    "HashSha256Strategy",
    "IntegerStrategy",
    "PiiType",
    "PseudonymizationStrategy",
    "SpecificIdLetterCase",
    "SpecificIdStrategy",
    "Uuid4Strategy",
]


def test_top_level_reexports_the_pseudonymization_vocabulary() -> None:
    from avatars import FakeDataStrategy, PiiType, SpecificIdLetterCase, SpecificIdStrategy
    from avatars.protocol import enums, schema

    for name in [*PSEUDONYMIZATION, "JobStatus"]:
        assert name in avatars.__all__
        assert name in dir(avatars)
        assert getattr(avatars, name) is getattr(
            schema if name.endswith("Strategy") and hasattr(schema, name) else enums, name
        )
    strategy = FakeDataStrategy(pii_type=PiiType.EMAIL, consistent=False)
    assert strategy.model_dump() == {
        "kind": "FAKER",
        "pii_type": "EMAIL",
        "consistent": False,
        "high_variability": False,
    }
    pattern = SpecificIdStrategy(pattern="ID-####", letter_case=SpecificIdLetterCase.UPPER)
    assert pattern.kind == "SPECIFIC_ID"
    with pytest.raises(AttributeError, match="has no attribute 'NotAThing'"):
        avatars.NotAThing  # noqa: B018
    if OFFICIAL.exists():
        tree = ast.parse((OFFICIAL / "avatars/__init__.py").read_text())
        (exported,) = [
            ast.literal_eval(n.value)
            for n in tree.body
            if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "__all__"
        ]
        # all the official top-level names but the schema-plan helpers (not implemented)
        missing = set(exported) - set(avatars.__all__)
        assert missing == {"Proposal", "SchemaPlan", "SharedEntity", "shared_entity"}
