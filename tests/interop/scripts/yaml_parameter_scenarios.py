"""Runner.get_yaml() of every avatarization parameter and processor, with either SDK (no
server needed): categorical reduction, the imputation methods, both exclusion methods,
excluded variables in the metrics, column weights, the metrics' own parameters, the
augmentation strategies and the server-side processors (client 1.30's keywords).

Prints ``{scenario: yaml}`` as JSON with the ``client_version`` annotation blanked, as
``yaml_scenarios.py`` does.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pandas as pd

from avatar_yaml.models.parameters import (
    AugmentationStrategy,
    InterRecordRangeDifferenceParameters,
    RelativeDifferenceParameters,
)
from avatars.client import ApiClient
from avatars.runner import ExcludeVariablesMethod, ImputeMethod, Runner

warnings.simplefilter("ignore")


def _no_upload(self, table_name, data, avatar_data=None):
    ext = ".csv" if isinstance(data, pd.DataFrame) else Path(data).suffix
    return table_name + ext, None


Runner.upload_file = _no_upload

TABLE = pd.DataFrame(
    {
        "id": [1, 1, 2],
        "start": [0.0, 2.0, 1.0],
        "end": [1.0, 3.0, 4.0],
        "total": [3, 4, 5],
        "part": [1, 2, 2],
        "city": ["a", "b", "c"],
        "label": ["x", "y", "x"],
    }
)


def runner(name: str, **parameters) -> Runner:
    r = Runner(ApiClient(base_url="http://127.0.0.1:9/api", api_key="offline"), name, seed=3)
    r.add_table("t", TABLE, types={"city": "category", "label": "category"})
    r.set_parameters("t", **parameters)
    return r


SCENARIOS = {
    "categorical_reduction": {"k": 5, "use_categorical_reduction": True},
    **{
        f"imputation_{method.value}": {
            "k": 5,
            "imputation_method": method,
            "imputation_k": 4,
            "imputation_training_fraction": 0.5,
            "imputation_return_data_imputed": True,
        }
        for method in ImputeMethod
    },
    "exclude_row_order": {
        "k": 5,
        "exclude_variable_names": ["label"],
        "exclude_variable_method": ExcludeVariablesMethod.ROW_ORDER,
    },
    "exclude_coordinate_similarity": {
        "k": 5,
        "exclude_variable_names": ["label"],
        "exclude_variable_method": ExcludeVariablesMethod.COORDINATE_SIMILARITY,
        "use_excluded_variables_in_metrics": True,
    },
    "weights_and_metrics": {
        "k": 5,
        "ncp": 2,
        "column_weights": {"total": 2.0},
        "known_variables": ["total", "part"],
        "target": "label",
        "quantile_threshold": 10,
    },
    "augmentation_multiplier": {"k": 5, "data_augmentation_strategy": 2.5},
    "augmentation_minority": {
        "k": 5,
        "data_augmentation_strategy": AugmentationStrategy.minority,
        "data_augmentation_target_column": "label",
    },
    "augmentation_not_majority": {
        "k": 5,
        "data_augmentation_strategy": AugmentationStrategy.not_majority,
        "data_augmentation_target_column": "label",
        "data_augmentation_should_anonymize_original_table": False,
    },
    "augmentation_ratios": {
        "k": 5,
        "data_augmentation_strategy": {"y": 2.0},
        "data_augmentation_target_column": "label",
    },
    "processors": {
        "k": 5,
        "processors": [
            InterRecordRangeDifferenceParameters(
                id_variable="id", target_start_variable="start", target_end_variable="end"
            ),
            RelativeDifferenceParameters(target="total", references=["part"], scaling_unit=2),
            RelativeDifferenceParameters(target="end", references=["start"]),
        ],
    },
}

out = {}
for name, parameters in SCENARIOS.items():
    text = runner(name, **parameters).get_yaml()
    out[name] = re.sub(r"client_version: .*", "client_version: X", text)
print(json.dumps(out))
