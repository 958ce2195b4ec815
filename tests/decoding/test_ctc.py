"""Greedy and prefix beam search against exhaustive path enumeration, torch's CTC loss and pyctcdecode."""

from __future__ import annotations

import itertools
import logging
import string

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from signdistill.decoding import Hypothesis, beam_search, beam_search_nbest, greedy_decode


def _random_log_probs(rng: np.random.Generator, frames: int, classes: int, scale: float = 2.0) -> torch.Tensor:
    return torch.log_softmax(torch.tensor(rng.normal(size=(frames, 1, classes)) * scale), dim=-1)


def _peaky_log_probs(rng: np.random.Generator, frames: int, classes: int, noise: float = 1.0) -> torch.Tensor:
    """Posteriors shaped like a trained CTC model's: blank almost everywhere, one spike per label."""
    logits = rng.normal(size=(frames, classes)) * noise
    logits[:, 0] += 6.0
    spikes = np.sort(rng.choice(frames, size=int(rng.integers(1, frames // 3)), replace=False))
    logits[spikes, rng.integers(1, classes, size=spikes.size)] += 8.0
    return torch.log_softmax(torch.tensor(logits)[:, None], dim=-1)


def _enumerate(lp: np.ndarray, blank: int = 0) -> tuple[dict[tuple[int, ...], float], tuple[int, ...], float]:
    """Every one of the C^T paths: summed log probability per collapsed label sequence, and the best path."""
    frames, classes = lp.shape
    totals: dict[tuple[int, ...], float] = {}
    best_path, best_score = (), -np.inf
    for path in itertools.product(range(classes), repeat=frames):
        score = float(sum(lp[t, c] for t, c in enumerate(path)))
        labels = tuple(c for t, c in enumerate(path) if c != blank and (t == 0 or path[t - 1] != c))
        totals[labels] = float(np.logaddexp(totals.get(labels, -np.inf), score))
        if score > best_score:
            best_path, best_score = path, score
    return totals, best_path, best_score


def _true_log_prob(lp: torch.Tensor, ids: list[int]) -> float:
    """log p(ids | x) from torch's CTC forward algorithm (an independent implementation)."""
    frames = lp.shape[0]
    if not ids:
        return float(lp[:, 0, 0].sum())
    loss = F.ctc_loss(lp, torch.tensor([ids]), torch.tensor([frames]), torch.tensor([len(ids)]), reduction="sum")
    return -float(loss)


CASES = [(seed, frames, classes) for seed, (frames, classes) in enumerate(
    [(1, 2), (1, 4), (2, 3), (3, 2), (3, 4), (4, 3), (5, 3), (5, 4), (6, 2), (6, 3), (6, 4), (6, 4)])]


@pytest.mark.parametrize("seed,frames,classes", CASES)
def test_wide_beam_is_exact_against_enumeration(seed: int, frames: int, classes: int) -> None:
    lp = _random_log_probs(np.random.default_rng(seed), frames, classes, scale=1.5)
    totals, _, _ = _enumerate(lp[:, 0].numpy())
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
    lp = _random_log_probs(np.random.default_rng(100 + seed), frames, classes)
    _, path, score = _enumerate(lp[:, 0].numpy())
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
        lp = _random_log_probs(rng, 20, 6)
        for width in (1, 3, 10):
            for hyp in beam_search_nbest(lp, beam_width=width)[0]:
                assert hyp.score <= _true_log_prob(lp, hyp.ids) + 1e-9


def test_peaky_posteriors_wide_beam_score_matches_ctc_loss() -> None:
    lp = _peaky_log_probs(np.random.default_rng(3), 40, 12)
    true = _true_log_prob(lp, beam_search(lp, beam_width=10)[0].ids)
    hyp = beam_search(lp, beam_width=1000)[0]
    assert hyp.score <= _true_log_prob(lp, hyp.ids) + 1e-9
    assert hyp.score == pytest.approx(_true_log_prob(lp, hyp.ids), abs=1e-3)  # what 1000 prefixes leave out
    assert hyp.score >= true - 1e-3  # the narrow beam found nothing more probable


def test_batch_lengths_ignore_padding_and_layout_is_time_first() -> None:
    rng = np.random.default_rng(11)
    a, b = _peaky_log_probs(rng, 30, 8), _peaky_log_probs(rng, 18, 8)
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
    pyctcdecode = pytest.importorskip("pyctcdecode")
    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
    rng = np.random.default_rng(3)
    classes, frames, samples = 20, 40, 100
    labels = ["", *string.ascii_letters[: classes - 1]]
    decoder = pyctcdecode.build_ctcdecoder(labels)
    agree = ours_better = theirs_better = 0
    for _ in range(samples):
        lp = _peaky_log_probs(rng, frames, classes)
        ours = beam_search(lp, beam_width=10)[0].ids
        text = decoder.decode(lp[:, 0].numpy(), beam_width=10, beam_prune_logp=-1e9, token_min_logp=-1e9)
        theirs = [labels.index(ch) for ch in text]
        if ours == theirs:
            agree += 1
            continue
        mine, other = _true_log_prob(lp, ours), _true_log_prob(lp, theirs)
        ours_better += mine > other + 1e-9
        theirs_better += other > mine + 1e-9
    assert agree / samples >= 0.9, (agree, ours_better, theirs_better)
    assert ours_better >= theirs_better


def test_blank_need_not_be_class_zero() -> None:
    lp = _random_log_probs(np.random.default_rng(5), 6, 4, scale=1.5)
    moved = lp[..., [1, 2, 3, 0]]  # blank now last: class k+1 of lp is class k of moved
    for decode in (greedy_decode, lambda x, **kw: beam_search(x, beam_width=50, **kw)):
        want, got = decode(lp)[0], decode(moved, blank=3)[0]
        assert [k + 1 for k in got.ids] == want.ids and got.score == pytest.approx(want.score)
        assert got.spikes == want.spikes
