"""Does a method beat its baseline over seeds? A one-sided Welch t-test on test WER, Mann-Whitney U beside it.

Lower WER is better, so the alternative hypothesis is "the method's mean WER is below the baseline's". Welch's
test (unequal variances) because a distilled student's seeds usually spread less than its baseline's; the
Mann-Whitney U p-value is reported beside it as the test that assumes no normality (with 5 seeds a side its
smallest possible p-value is 1/252, so it can still decide). The difference's 95% confidence interval is the
two-sided Welch interval.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

ALPHA = 0.05


@dataclass(frozen=True)
class SeedVerdict:
    """Two runs' per-seed WERs compared: means, standard deviations (ddof 1), the difference method - baseline
    (negative: the method is better) with its 95% confidence interval, the p-values and the verdict."""

    n_method: int
    n_baseline: int
    method_mean: float
    method_std: float
    baseline_mean: float
    baseline_std: float
    difference: float
    ci_low: float
    ci_high: float
    welch_p: float
    mann_whitney_p: float
    alpha: float
    beats: bool

    @property
    def verdict(self) -> str:
        if self.beats:
            return "beats"
        return "does not beat" if self.n_method >= 2 and self.n_baseline >= 2 else "too few seeds"

    def as_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict}


def seed_verdict(method: list[float], baseline: list[float], alpha: float = ALPHA) -> SeedVerdict:
    """``method`` beats ``baseline`` (per-seed WERs, lower is better) when the one-sided Welch t-test rejects
    "method's mean >= baseline's mean" at ``alpha``. Fewer than two seeds a side: no test (p-values NaN)."""
    m, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    if m.size < 2 or b.size < 2:
        nan = float("nan")
        diff = float(m.mean() - b.mean()) if m.size and b.size else nan
        return SeedVerdict(m.size, b.size, _mean(m), nan, _mean(b), nan, diff, nan, nan, nan, nan, alpha, False)
    from scipy import stats  # here, not at import: a kedro run builds the verdict nodes long before any runs

    with warnings.catch_warnings():  # identical seeds: scipy warns of precision loss, handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        welch = stats.ttest_ind(m, b, equal_var=False, alternative="less")
        interval = stats.ttest_ind(m, b, equal_var=False).confidence_interval(0.95)
    low, high = float(interval.low), float(interval.high)
    if math.isnan(low):  # both runs constant: the difference is exact
        low = high = float(m.mean() - b.mean())
    mwu = stats.mannwhitneyu(m, b, alternative="less")
    welch_p = float(welch.pvalue)
    if math.isnan(welch_p):  # both runs constant: equal means never beat, a lower constant always does
        welch_p = 0.0 if m.mean() < b.mean() else 1.0
    return SeedVerdict(m.size, b.size, float(m.mean()), float(m.std(ddof=1)), float(b.mean()), float(b.std(ddof=1)),
                       float(m.mean() - b.mean()), low, high, welch_p, float(mwu.pvalue), alpha, welch_p < alpha)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def format_p(value: object) -> str:
    """A p-value as reports print it: three decimals, scientific below 0.001 (never "0.000"); "-" when absent."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "-"
    return "-" if math.isnan(number) else (f"{number:.3f}" if number >= 0.001 else f"{number:.1e}")
