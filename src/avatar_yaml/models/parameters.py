"""``avatar_yaml.models.parameters``: the parameter names notebooks import (see
:mod:`avatar_yaml`)."""

from avatars.protocol.enums import (
    AlignmentMethod,
    AugmentationStrategy,
    ExcludeVariablesMethod,
    ImputeMethod,
    OutputFormat,
    ProjectionType,
    ReportLanguage,
    ReportType,
)
from avatars.protocol.parameters import (
    AvatarizationFastDPParameters,
    AvatarizationOpenDPParameters,
    AvatarizationParameters,
    DataAugmentation,
    InterRecordRangeDifferenceParameters,
    PrivacyMetricsParameters,
    ProcessorParameters,
    RelativeDifferenceParameters,
    SignalMetricsParameters,
    TimeSeriesParameters,
)

#: The official names of two of the models above.
DataAugmentationParameters = DataAugmentation
AvatarizationProcessorParameters = ProcessorParameters
AvatarizationDPParameters = AvatarizationOpenDPParameters

__all__ = [
    "AlignmentMethod",
    "AugmentationStrategy",
    "AvatarizationDPParameters",
    "AvatarizationFastDPParameters",
    "AvatarizationOpenDPParameters",
    "AvatarizationParameters",
    "AvatarizationProcessorParameters",
    "DataAugmentationParameters",
    "ExcludeVariablesMethod",
    "ImputeMethod",
    "InterRecordRangeDifferenceParameters",
    "OutputFormat",
    "PrivacyMetricsParameters",
    "ProjectionType",
    "RelativeDifferenceParameters",
    "ReportLanguage",
    "ReportType",
    "SignalMetricsParameters",
    "TimeSeriesParameters",
]
