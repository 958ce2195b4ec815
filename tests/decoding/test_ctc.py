"""Greedy and prefix beam search against exhaustive path enumeration, torch's CTC loss and pyctcdecode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signdistill.benchmarks.crosschecks import (
    ENUMERATION_CASES,
    ctc_log_prob,
    decoder_vs_enumeration,
    decoder_vs_pyctcdecode,
    enumerate_paths,
    peaky_log_probs,
    random_log_probs,
)
from signdistill.decoding import Hypothesis, beam_search, beam_search_nbest, greedy_decode

CASES = [(seed, frames, classes) for seed, (frames, classes) in enumerate(ENUMERATION_CASES)]


@pytest.mark.parametrize("seed,frames,classes", CASES)
def test_wide_beam_is_exact_against_enumeration(seed: int, frames: int, classes: int) -> None:
    lp = random_log_probs(np.random.default_rng(seed), frames, classes, scale=1.5)
    totals, _, _ = enumerate_paths(lp[:, 0].numpy())
    beams = beam_search_nbest(lp, beam_width=10_000)[0]  # wider than the number of prefixes: no pruning
    got = {tuple(h.ids): h.score for h in beams}
    assert set(got) == set(totals)
    for labels, score in totals.items():
        assert got[labels] == pytest.approx(score, abs=1e-9)
    best = max(totals, key=totals.__getitem__)
    assert tuple(beams[0].ids) == best
    assert beam_search(lp, beam_width=10_000)[0].score == pytest.approx(totals[best], abs=1e-9)
    assert np.logaddexp.reduce([h.score for h in beams]) == pytest.approx(0.0, abs=1e-9)  # all mass kept


@pytest.mark.parametrize("seed,frames,classes", CASES)
def test_greedy_is_the_collapsed_best_path(seed: int, frames: int, classes: int) -> None:
    lp = random_log_probs(np.random.default_rng(100 + seed), frames, classes)
    _, path, score = enumerate_paths(lp[:, 0].numpy())
    hyp = greedy_decode(lp)[0]
    assert hyp.ids == [c for t, c in enumerate(path) if c != 0 and (t == 0 or path[t - 1] != c)]
    assert hyp.score == pytest.approx(score, abs=1e-9)


def test_blank_separates_repeated_labels() -> None:
    def one_hot(path: list[int], classes: int = 3) -> torch.Tensor:
        lp = torch.full((len(path), 1, classes), -30.0)
        lp[torch.arange(len(path)), 0, torch.tensor(path)] = 0.0
        return lp

    for path, expected in [([1, 1], [1]), ([1, 0, 1], [1, 1]), ([1, 1, 0, 1, 2, 2], [1, 1, 2]), ([0, 0], [])]:
        assert greedy_decode(one_hot(path))[0].ids == expected
        assert beam_search(one_hot(path), beam_width=5)[0].ids == expected


def test_narrow_beams_never_overstate_the_probability() -> None:
    rng = np.random.default_rng(7)
    for _ in range(10):
        lp = random_log_probs(rng, 20, 6)
        for width in (1, 3, 10):
            for hyp in beam_search_nbest(lp, beam_width=width)[0]:
                assert hyp.score <= ctc_log_prob(lp, hyp.ids) + 1e-9


def test_peaky_posteriors_wide_beam_score_matches_ctc_loss() -> None:
    lp = peaky_log_probs(np.random.default_rng(3), 40, 12)
    true = ctc_log_prob(lp, beam_search(lp, beam_width=10)[0].ids)
    hyp = beam_search(lp, beam_width=1000)[0]
    assert hyp.score <= ctc_log_prob(lp, hyp.ids) + 1e-9
    assert hyp.score == pytest.approx(ctc_log_prob(lp, hyp.ids), abs=1e-3)  # what 1000 prefixes leave out
    assert hyp.score >= true - 1e-3  # the narrow beam found nothing more probable


def test_batch_lengths_ignore_padding_and_layout_is_time_first() -> None:
    rng = np.random.default_rng(11)
    a, b = peaky_log_probs(rng, 30, 8), peaky_log_probs(rng, 18, 8)
    batch = torch.log_softmax(torch.randn(30, 3, 8) * 5, dim=-1)  # padding is noise
    batch[:, 0] = a[:, 0]
    batch[:18, 1] = b[:, 0]
    lengths = torch.tensor([30, 18, 0])
    for decode in (greedy_decode, lambda x, n: beam_search(x, n, beam_width=8)):
        out = decode(batch, lengths)
        assert [h.ids for h in out[:2]] == [decode(a, None)[0].ids, decode(b, None)[0].ids]
        assert out[2] == Hypothesis(ids=[], score=0.0, spikes=[])


def test_spikes_locate_the_labels() -> None:
    frames, path = 12, [0, 3, 3, 0, 0, 1, 0, 0, 2, 2, 2, 0]
    lp = torch.full((frames, 1, 4), -6.0)
    lp[torch.arange(frames), 0, torch.tensor(path)] = -0.01
    lp[2, 0, 3] = -0.001  # the 3 peaks on its second frame
    lp[9, 0, 2] = -0.001
    greedy = greedy_decode(lp)[0]
    assert greedy.ids == [3, 1, 2] and greedy.spikes == [2, 5, 9]
    beam = beam_search(lp, beam_width=10)[0]
    assert beam.ids == [3, 1, 2] and beam.spikes == greedy.spikes


def test_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"\[T, B, C\]"):
        greedy_decode(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="lengths"):
        beam_search(torch.zeros(5, 2, 3), torch.tensor([5, 6]))
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(torch.zeros(5, 1, 3), beam_width=0)


def test_agrees_with_pyctcdecode_on_peaky_posteriors() -> None:
    """Same top sequence in the vast majority; where they differ ours is (almost always) the more probable.

    pyctcdecode's beam holds (text, last token) states, i.e. about half as many prefixes as ours at the same
    width, and a prefix loses the mass of whichever of its two states it prunes, so the two can differ.
    """
    pytest.importorskip("pyctcdecode")
    result = decoder_vs_pyctcdecode(samples=100)
    assert result["agree"] / result["samples"] >= 0.9, result
    assert result["ours_more_probable"] >= result["theirs_more_probable"]


def test_the_crosscheck_benchmark_finds_every_small_case_exact() -> None:
    assert decoder_vs_enumeration(ENUMERATION_CASES[:6]) == {"cases": 6, "exact": 6}


def test_blank_need_not_be_class_zero() -> None:
    lp = random_log_probs(np.random.default_rng(5), 6, 4, scale=1.5)
    moved = lp[..., [1, 2, 3, 0]]  # blank now last: class k+1 of lp is class k of moved
    for decode in (greedy_decode, lambda x, **kw: beam_search(x, beam_width=50, **kw)):
        want, got = decode(lp)[0], decode(moved, blank=3)[0]
        assert [k + 1 for k in got.ids] == want.ids and got.score == pytest.approx(want.score)
        assert got.spikes == want.spikes
