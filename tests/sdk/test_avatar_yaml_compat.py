"""The ``avatar_yaml`` compatibility module: the names notebooks import from Octopize's YAML
package, on this SDK and Python 3.11 (Octopize's package needs 3.12)."""

from __future__ import annotations

import sys

import pytest


def test_notebook_imports_work_on_this_python() -> None:
    from avatar_yaml import FakeDataStrategy, PiiType
    from avatar_yaml.models.parameters import (
        AlignmentMethod,
        AugmentationStrategy,
        DataAugmentationParameters,
        InterRecordRangeDifferenceParameters,
        ProjectionType,
        RelativeDifferenceParameters,
    )
    from avatar_yaml.models.schema import LinkMethod
    from avatars.protocol import enums, parameters, schema

    assert sys.version_info >= (3, 11)
    assert AugmentationStrategy is enums.AugmentationStrategy
    assert AlignmentMethod is enums.AlignmentMethod and ProjectionType is enums.ProjectionType
    assert LinkMethod is enums.LinkMethod and PiiType is enums.PiiType
    assert FakeDataStrategy is schema.FakeDataStrategy
    assert DataAugmentationParameters is parameters.DataAugmentation
    processor = RelativeDifferenceParameters(target="total", references=["a", "b"])
    assert processor.model_dump(exclude_none=True) == {"target": "total", "references": ["a", "b"]}
    with pytest.raises(ValueError, match="different"):
        InterRecordRangeDifferenceParameters(
            id_variable="id", target_start_variable="t", target_end_variable="t"
        )
