"""The seed verdict against scipy's own tests on fixed numbers."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from signdistill.metrics.verdict import seed_verdict

DISTILLED = [32.0, 32.8, 31.7, 33.1, 30.9]
SCRATCH = [39.4, 37.8, 34.0, 41.2, 36.5]


def test_welch_and_mann_whitney_match_scipy() -> None:
    verdict = seed_verdict(DISTILLED, SCRATCH)
    welch = stats.ttest_ind(DISTILLED, SCRATCH, equal_var=False, alternative="less")
    assert verdict.welch_p == pytest.approx(welch.pvalue)
    assert verdict.mann_whitney_p == pytest.approx(stats.mannwhitneyu(DISTILLED, SCRATCH, alternative="less").pvalue)
    # every distilled seed below every scratch seed: the smallest U p-value with 5 a side
    assert verdict.mann_whitney_p == pytest.approx(1 / math.comb(10, 5))
    assert verdict.difference == pytest.approx(sum(DISTILLED) / 5 - sum(SCRATCH) / 5)
    assert verdict.method_std == pytest.approx(stats.tstd(DISTILLED))
    assert verdict.beats and verdict.verdict == "beats"


def test_confidence_interval_is_the_two_sided_welch_interval() -> None:
    verdict = seed_verdict(DISTILLED, SCRATCH)
    # by hand: Welch-Satterthwaite degrees of freedom, t quantile 0.975
    vm, vb = stats.tvar(DISTILLED) / 5, stats.tvar(SCRATCH) / 5
    dof = (vm + vb) ** 2 / (vm**2 / 4 + vb**2 / 4)
    half = stats.t.ppf(0.975, dof) * math.sqrt(vm + vb)
    assert (verdict.ci_low, verdict.ci_high) == pytest.approx((verdict.difference - half, verdict.difference + half))


def test_a_worse_or_overlapping_method_does_not_beat() -> None:
    assert seed_verdict(SCRATCH, DISTILLED).verdict == "does not beat"
    overlapping = seed_verdict([21.2, 28.2, 32.0], [29.3, 40.2, 31.3])
    assert not overlapping.beats and overlapping.welch_p > 0.05


def test_gain_inside_spread_can_still_be_significant() -> None:
    """Better at every seed with little spread: a spread-based rule says no, the test says yes."""
    verdict = seed_verdict([32.0, 32.8, 31.7], [39.4, 37.8, 34.0])
    assert verdict.beats and verdict.welch_p < 0.05


def test_constant_runs_and_too_few_seeds() -> None:
    assert seed_verdict([1.0, 1.0, 1.0], [2.0, 2.0, 2.0]).beats
    assert not seed_verdict([2.0, 2.0], [2.0, 2.0]).beats
    single = seed_verdict([10.0], [20.0, 21.0])
    assert single.verdict == "too few seeds" and math.isnan(single.welch_p)


def test_p_values_print_without_rounding_to_zero() -> None:
    from signdistill.metrics.verdict import format_p

    assert [format_p(p) for p in (0.0431, 2.19e-5, float("nan"), None)] == ["0.043", "2.2e-05", "-", "-"]
