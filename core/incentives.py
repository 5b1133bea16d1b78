"""The incentive installments a scheme owes a participant after their first certificate.

One rule for the seed and the live completion path: the scheme's amounts and counts come
from its row in ``schemes``; this says which installments they make and when each falls due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from core.enums import IncentiveKind

# The post-training incentive is paid monthly, the first on completion.
INSTALLMENT_INTERVAL: Final = timedelta(days=30)


class SchemeIncentives(Protocol):
    """What a scheme (a ``schemes`` row, or the seed's definition of it) pays after training."""

    @property
    def incentive_amount(self) -> int: ...
    @property
    def incentive_count(self) -> int: ...
    @property
    def survey_incentive_amount(self) -> int: ...
    @property
    def survey_count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class PlannedInstallment:
    kind: IncentiveKind
    sequence: int
    amount: int
    # None for a survey incentive: it falls due when the participant answers the survey.
    due_at: datetime | None


def installment_plan(scheme: SchemeIncentives, completed_at: datetime) -> list[PlannedInstallment]:
    """The installments owed after a first training completed at ``completed_at``."""
    training = [
        PlannedInstallment(
            IncentiveKind.TRAINING,
            sequence,
            scheme.incentive_amount,
            completed_at + (sequence - 1) * INSTALLMENT_INTERVAL,
        )
        for sequence in range(1, scheme.incentive_count + 1)
    ]
    surveys = [
        PlannedInstallment(IncentiveKind.SURVEY, sequence, scheme.survey_incentive_amount, None)
        for sequence in range(1, scheme.survey_count + 1)
    ]
    return training + surveys
