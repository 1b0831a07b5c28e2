"""Compatibility names for notebooks written for Octopize's client, on this project's SDK.

Notebooks import parameter vocabulary from Octopize's ``avatar_yaml`` package
(``from avatar_yaml.models.parameters import AugmentationStrategy``); that package needs
Python 3.12, this one runs on 3.11 too. Every name is re-exported from
:mod:`avatars.protocol`, where it is defined once. Installing Octopize's ``avatar_yaml`` in the
same environment replaces this module (the official client needs its own).
"""

from avatars.protocol.enums import (
    DataRecipient,
    DataSubject,
    DataType,
    PiiType,
    ReportType,
    SensitivityLevel,
    SpecificIdLetterCase,
)
from avatars.protocol.parameters import (
    AvatarizationFastDPParameters,
    AvatarizationOpenDPParameters,
    AvatarizationParameters,
    PrivacyMetricsParameters,
    SignalMetricsParameters,
    TimeSeriesParameters,
)
from avatars.protocol.schema import (
    ConstantStrategy,
    FakeDataStrategy,
    HashSha256Strategy,
    IntegerStrategy,
    SpecificIdStrategy,
    Uuid4Strategy,
)

__all__ = [
    "AvatarizationFastDPParameters",
    "AvatarizationOpenDPParameters",
    "AvatarizationParameters",
    "ConstantStrategy",
    "DataRecipient",
    "DataSubject",
    "DataType",
    "FakeDataStrategy",
    "HashSha256Strategy",
    "IntegerStrategy",
    "PiiType",
    "PrivacyMetricsParameters",
    "ReportType",
    "SensitivityLevel",
    "SignalMetricsParameters",
    "SpecificIdLetterCase",
    "SpecificIdStrategy",
    "TimeSeriesParameters",
    "Uuid4Strategy",
]
