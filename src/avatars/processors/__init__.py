"""Client-side processors: transformations applied to a table before avatarization
(``preprocess(df)``) and undone on the avatars (``postprocess(source, dest)``), to keep
relations the avatar method alone does not guarantee (sums, bounds, orderings, datetimes...).

The same classes, arguments and behaviour as ``avatars.processors`` of Octopize's client
(1.30, plus ``RelativeDifferenceProcessor`` and ``InterRecordRangeDifferenceProcessor`` of
older versions), so notebooks keep their imports::

    from avatars.processors import ProportionProcessor

    processor = ProportionProcessor(["rent", "food"], reference="spending")
    prepared = processor.preprocess(df)  # avatarize this table
    avatars = processor.postprocess(df, avatars_of_prepared)

Postprocess processors in the reverse order of preprocessing. Invalid arguments or tables
raise :class:`ProcessorError` (a ``ValueError``) naming the argument and column.

The server-side ("embedded") processors are parameters of a run, not classes with methods:
:class:`InterRecordRangeDifferenceParameters` and :class:`RelativeDifferenceParameters`,
re-exported here from :mod:`avatars.protocol.parameters`.

Needs pandas and numpy only (the SDK install).
"""

from __future__ import annotations

from avatars.processors._base import Processor, ProcessorError
from avatars.processors.datetime import DatetimeProcessor
from avatars.processors.expected_mean import ExpectedMeanProcessor
from avatars.processors.geolocation_normalization import GeolocationNormalizationProcessor
from avatars.processors.group_modalities import GroupModalitiesProcessor
from avatars.processors.inter_record_bounded_cumulated_difference import (
    InterRecordBoundedCumulatedDifferenceProcessor,
)
from avatars.processors.inter_record_bounded_range_difference import (
    InterRecordBoundedRangeDifferenceProcessor,
)
from avatars.processors.inter_record_cumulated_difference import (
    InterRecordCumulatedDifferenceProcessor,
)
from avatars.processors.inter_record_range_difference import (
    InterRecordRangeDifferenceProcessor,
)
from avatars.processors.perturbation import PerturbationProcessor
from avatars.processors.proportions import ProportionProcessor
from avatars.processors.relative_difference import RelativeDifferenceProcessor
from avatars.processors.to_categorical import ToCategoricalProcessor
from avatars.protocol.parameters import (
    InterRecordRangeDifferenceParameters,
    RelativeDifferenceParameters,
)

__all__ = [
    "DatetimeProcessor",
    "ExpectedMeanProcessor",
    "GeolocationNormalizationProcessor",
    "GroupModalitiesProcessor",
    "InterRecordBoundedCumulatedDifferenceProcessor",
    "InterRecordBoundedRangeDifferenceProcessor",
    "InterRecordCumulatedDifferenceProcessor",
    "InterRecordRangeDifferenceParameters",
    "InterRecordRangeDifferenceProcessor",
    "PerturbationProcessor",
    "Processor",
    "ProcessorError",
    "ProportionProcessor",
    "RelativeDifferenceParameters",
    "RelativeDifferenceProcessor",
    "ToCategoricalProcessor",
]
