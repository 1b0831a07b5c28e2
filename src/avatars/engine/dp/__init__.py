"""Differentially private avatars (method.md §6.3): two variants, exclusive with ``k``.

- :func:`avatarize_open_dp` — **AvatarOpenDP**, end-to-end ε-differential privacy: DP bounds
  and bins of the continuous columns, then MST (noisy marginals over a tree of pairs of
  columns), every noise draw from OpenDP; needs ``pip install 'avatars[dp]'``.
- :func:`avatarize_fast_dp` — **AvatarFastDP**, latent-space DP, NOT end-to-end: the
  projection is fitted on the data as for k-avatars, the distribution of the projected
  records is released by a DP mechanism (``gaussian``, ``gmm`` or ``histogram``), avatars are
  drawn from it. numpy only; one seed makes it reproducible.

Both return a :class:`DPAvatarizationResult` (an :class:`~avatars.engine.AvatarizationResult`
whose ``unshuffled`` rows can go to :func:`~avatars.engine.privacy_metrics` and
:func:`~avatars.engine.signal_metrics` like k-avatars') with a :class:`PrivacyAccounting`:
ε per step, what is and is not covered, the unit of privacy; it is also
``metadata["differential_privacy"]``.

Where things are: ``accounting`` (budget, statement), ``opendp_mechanisms`` (the OpenDP
measurements), ``binning`` (DP bounds and bins), ``mst`` (the synthesizer), ``open_dp`` and
``fast_dp`` (entry points), ``latent`` (FastDP's mechanisms), ``tables`` and ``common``
(parameters, augmentation, excluded variables shared by both).
"""

from avatars.engine.dp.accounting import BudgetStep, PrivacyAccounting
from avatars.engine.dp.common import (
    METRICS_PAIRING,
    DPAugmentation,
    DPAvatarizationResult,
    check_epsilon,
    check_privacy_model,
)
from avatars.engine.dp.fast_dp import avatarize_fast_dp
from avatars.engine.dp.open_dp import avatarize_open_dp

__all__ = [
    "METRICS_PAIRING",
    "BudgetStep",
    "DPAugmentation",
    "DPAvatarizationResult",
    "PrivacyAccounting",
    "avatarize_fast_dp",
    "avatarize_open_dp",
    "check_epsilon",
    "check_privacy_model",
]
