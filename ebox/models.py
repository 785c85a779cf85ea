"""Models of the ebox app (rollups of the public statistics live in their own module)."""

from ebox.statistics_models import MonthlyActivationStatistic, MonthlyMessageStatistic  # noqa: F401
