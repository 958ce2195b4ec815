"""The decoder and the scorer against independent implementations, with the agreement printed.

- CTC prefix beam search against exhaustive enumeration of all C^T paths (small cases: every prefix's
  summed probability, the best sequence) and against pyctcdecode on posteriors shaped like a trained
  model's; where the two disagree, torch's CTC forward algorithm says whose sequence is more probable.
- WER counts against jiwer on random sentence pairs: the total errors always, the sub/del/ins split where
  the minimum-error alignment is unique (on ties the split is a convention: ours keeps the most correct
  words, as sclite does).
- PHOENIX-2014 corpus WER against NIST sclite on the official path (hypotheses as CTM through the
  evaluation's preprocess rules, references as STM; ``signdistill.metrics.sclite``), on random corpora of
  PHOENIX-like glosses with repeats, spelled letters, prefixes and __X__ tokens. Runs when sclite is
  installed (Debian: ``apt-get install sctk``); also reports how many corpora the old scoring (hypotheses
  cleaned as whole sentences, repeats collapsed) got wrong.

Run: ``uv run python -m signdistill.benchmarks.crosschecks [--json]`` (jiwer and pyctcdecode are dev
dependencies). The tests assert on the same functions.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import string
from typing import Annotated

import numpy as np
import torch
import torch.nn.functional as F
import typer

from signdistill.benchmarks._cli import JSON_HELP, benchmark_app, summary
from signdistill.decoding import beam_search, beam_search_nbest
from signdistill.metrics import align, score_corpus
from signdistill.metrics.sclite import run_sclite, sclite_command
from signdistill.metrics.wer import clean_phoenix2014

app = benchmark_app(__doc__)
GLOSSES = ["REGEN", "SONNE", "WETTER", "MORGEN", "NORD", "SUED", "WIND", "KALT"]
# (frames, classes) of the exhaustive cases: at most 4^6 = 4096 paths each
ENUMERATION_CASES = [(1, 2), (1, 4), (2, 3), (3, 2), (3, 4), (4, 3), (5, 3), (5, 4), (6, 2), (6, 3), (6, 4), (6, 4)]


def random_log_probs(rng: np.random.Generator, frames: int, classes: int, scale: float = 2.0) -> torch.Tensor:
    """``[T, 1, C]`` log-softmax of Gaussian logits."""
    return torch.log_softmax(torch.tensor(rng.normal(size=(frames, 1, classes)) * scale), dim=-1)


def peaky_log_probs(rng: np.random.Generator, frames: int, classes: int, noise: float = 1.0) -> torch.Tensor:
    """``[T, 1, C]`` posteriors shaped like a trained CTC model's: blank almost everywhere, one spike per label."""
    logits = rng.normal(size=(frames, classes)) * noise
    logits[:, 0] += 6.0
    spikes = np.sort(rng.choice(frames, size=int(rng.integers(1, frames // 3)), replace=False))
    logits[spikes, rng.integers(1, classes, size=spikes.size)] += 8.0
    return torch.log_softmax(torch.tensor(logits)[:, None], dim=-1)


def enumerate_paths(lp: np.ndarray, blank: int = 0) -> tuple[dict[tuple[int, ...], float], tuple[int, ...], float]:
    """Every one of the C^T paths of ``lp`` ``[T, C]``: summed log probability per collapsed label sequence,
    and the best single path with its score."""
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


def ctc_log_prob(lp: torch.Tensor, ids: list[int]) -> float:
    """log p(ids | x) of ``lp`` ``[T, 1, C]`` by torch's CTC forward algorithm (an independent implementation)."""
    frames = lp.shape[0]
    if not ids:
        return float(lp[:, 0, 0].sum())
    loss = F.ctc_loss(lp, torch.tensor([ids]), torch.tensor([frames]), torch.tensor([len(ids)]), reduction="sum")
    return -float(loss)


def decoder_vs_enumeration(cases: list[tuple[int, int]] = ENUMERATION_CASES) -> dict:
    """An unpruned beam against enumeration: cases whose prefix set, prefix probabilities (1e-9) and best
    sequence all match."""
    exact = 0
    for seed, (frames, classes) in enumerate(cases):
        lp = random_log_probs(np.random.default_rng(seed), frames, classes, scale=1.5)
        totals, _, _ = enumerate_paths(lp[:, 0].numpy())
        beams = beam_search_nbest(lp, beam_width=10_000)[0]
        got = {tuple(h.ids): h.score for h in beams}
        exact += (set(got) == set(totals) and all(abs(got[k] - v) < 1e-9 for k, v in totals.items())
                  and tuple(beams[0].ids) == max(totals, key=totals.__getitem__))
    return {"cases": len(cases), "exact": exact}


def decoder_vs_pyctcdecode(samples: int = 300, seed: int = 3, beam_width: int = 10, classes: int = 20,
                           frames: int = 40) -> dict:
    """Top sequences of our beam search and pyctcdecode's on peaky posteriors: agreements, and where they
    differ, whose sequence has the higher true probability."""
    import pyctcdecode

    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
    rng = np.random.default_rng(seed)
    labels = ["", *string.ascii_letters[: classes - 1]]
    decoder = pyctcdecode.build_ctcdecoder(labels)
    agree = ours_better = theirs_better = 0
    for _ in range(samples):
        lp = peaky_log_probs(rng, frames, classes)
        ours = beam_search(lp, beam_width=beam_width)[0].ids
        text = decoder.decode(lp[:, 0].numpy(), beam_width=beam_width, beam_prune_logp=-1e9, token_min_logp=-1e9)
        theirs = [labels.index(ch) for ch in text]
        if ours == theirs:
            agree += 1
            continue
        mine, other = ctc_log_prob(lp, ours), ctc_log_prob(lp, theirs)
        ours_better += mine > other + 1e-9
        theirs_better += other > mine + 1e-9
    return {"samples": samples, "beam_width": beam_width, "agree": agree, "ours_more_probable": ours_better,
            "theirs_more_probable": theirs_better}


def sentence_pairs(count: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """Half unrelated random sentences, half hypotheses made from the reference by random edits."""
    rng = random.Random(seed)
    pairs = []
    for k in range(count):
        ref = [rng.choice(GLOSSES) for _ in range(rng.randint(1, 14))]
        if k % 2:
            hyp = [rng.choice(GLOSSES) for _ in range(rng.randint(0, 14))]
        else:
            hyp = []
            for word in ref:
                roll = rng.random()
                hyp += [] if roll < 0.15 else [rng.choice(GLOSSES)] if roll < 0.3 else [word]
                if rng.random() < 0.1:
                    hyp.append(rng.choice(GLOSSES))
        pairs.append((ref, hyp))
    return pairs


def substitution_range(ref: list[str], hyp: list[str]) -> tuple[int, int, int]:
    """(errors, fewest subs, most subs) over all minimum-error alignments: a tie when the two differ."""
    n, m = len(ref), len(hyp)
    best = [[(0, 0, 0)] * (m + 1) for _ in range(n + 1)]  # (errors, min subs, -max subs)
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 or j == 0:
                best[i][j] = (i + j, 0, 0)
                continue
            diag, miss = best[i - 1][j - 1], int(ref[i - 1] != hyp[j - 1])
            cands = [(diag[0] + miss, diag[1] + miss, diag[2] - miss),
                     (best[i - 1][j][0] + 1, *best[i - 1][j][1:]), (best[i][j - 1][0] + 1, *best[i][j - 1][1:])]
            errors = min(c[0] for c in cands)
            tied = [c for c in cands if c[0] == errors]
            best[i][j] = (errors, min(c[1] for c in tied), min(c[2] for c in tied))
    errors, fewest, neg_most = best[n][m]
    return errors, fewest, -neg_most


def scorer_vs_jiwer(count: int = 600, seed: int = 0) -> dict:
    """Our alignment counts against jiwer's on ``count`` random pairs."""
    import jiwer

    totals = split = unique = unique_split = minimal = 0
    for ref, hyp in sentence_pairs(count, seed):
        ours = align(ref, hyp)
        out = jiwer.process_words(" ".join(ref), " ".join(hyp))
        totals += ours.errors == out.substitutions + out.deletions + out.insertions
        errors, fewest, most = substitution_range(ref, hyp)
        minimal += (ours.errors, ours.sub) == (errors, fewest)
        same = (ours.sub, ours.dels, ours.ins) == (out.substitutions, out.deletions, out.insertions)
        split += same
        if fewest == most:
            unique += 1
            unique_split += same
    return {"pairs": count, "totals_agree": totals, "split_agree": split, "unique_alignments": unique,
            "unique_split_agree": unique_split, "fewest_substitutions": minimal}


PHOENIX_TOKENS = ["REGEN", "NORD", "WIND", "SONNE", "A", "B", "C", "SCH", "NN", "loc-NORD", "cl-KOMMEN", "ZEIGEN",
                  "WIE", "AUSSEHEN", "WARTERAUM", "KOMMEN-PLUSPLUS", "S0NNE", "HABEN2", "__ON__", "__OFF__",
                  "__EMOTION__", "__PU__", "__LEFTHAND__", "__EPENTHESIS__"]


def phoenix_corpus(rng: random.Random, sentences: int = 8) -> tuple[dict[str, str], dict[str, str]]:
    """References and hypotheses of PHOENIX-like glosses; hypotheses repeat, drop and swap glosses (one in
    ten is empty)."""
    refs, hyps = {}, {}
    for i in range(sentences):
        ref = [rng.choice(PHOENIX_TOKENS) for _ in range(rng.randint(1, 8))]
        hyp = []
        for word in ref:
            roll = rng.random()
            if roll < 0.15:
                continue
            hyp += [word] * (2 if roll > 0.75 else 1) if roll > 0.3 else [rng.choice(PHOENIX_TOKENS)]
        refs[f"Signer01_{i:04d}"] = " ".join(ref)
        hyps[f"Signer01_{i:04d}"] = "" if rng.random() < 0.1 else " ".join(hyp)
    return refs, hyps


def scorer_vs_sclite(corpora: int = 50, seed: int = 0) -> dict | None:
    """``score_corpus(rules="phoenix2014")`` against sclite on the official path, corpus by corpus: the total
    errors and reference words; ``sentence_cleaning_agree`` is the same for the old scoring, which cleaned
    hypotheses as whole sentences. None when sclite is not installed."""
    if sclite_command() is None:
        return None
    rng = random.Random(seed)
    agree = old_agree = 0
    for _ in range(corpora):
        refs, hyps = phoenix_corpus(rng)
        theirs = run_sclite(refs, hyps)
        ours = score_corpus(refs, hyps, rules="phoenix2014")["counts"]
        agree += (ours["errors"], ours["ref_words"]) == (theirs["errors"], theirs["ref_words"])
        old = sum(align(clean_phoenix2014(refs[k]).split(), clean_phoenix2014(hyps[k]).split()) for k in refs)
        old_agree += old.errors == theirs["errors"]
    return {"corpora": corpora, "totals_agree": agree, "sentence_cleaning_agree": old_agree}


@app.command(help=summary(__doc__))
def main(samples: Annotated[int, typer.Option(metavar="N", help="Posteriors decoded by both beam searches.")] = 300,
         pairs: Annotated[int, typer.Option(metavar="N", help="Random sentence pairs scored by both WER counts.")
                          ] = 600,
         corpora: Annotated[int, typer.Option(metavar="N", help="Random PHOENIX-like corpora scored by both WERs "
                                                                  "(when sclite is installed).")] = 50,
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    result = {"enumeration": decoder_vs_enumeration(), "pyctcdecode": decoder_vs_pyctcdecode(samples),
              "jiwer": scorer_vs_jiwer(pairs), "sclite": scorer_vs_sclite(corpora)}
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        e, p, j = result["enumeration"], result["pyctcdecode"], result["jiwer"]
        print(f"beam search vs exhaustive enumeration: {e['exact']}/{e['cases']} cases exact")
        print(f"beam search vs pyctcdecode (beam {p['beam_width']}): same top sequence {p['agree']}/{p['samples']} "
              f"({100 * p['agree'] / p['samples']:.1f}%); where they differ ours is more probable "
              f"{p['ours_more_probable']}x, theirs {p['theirs_more_probable']}x")
        print(f"WER counts vs jiwer: total errors {j['totals_agree']}/{j['pairs']}, sub/del/ins split "
              f"{j['split_agree']}/{j['pairs']} ({j['unique_split_agree']}/{j['unique_alignments']} where the "
              f"minimum alignment is unique); fewest substitutions among minimum alignments "
              f"{j['fewest_substitutions']}/{j['pairs']}")
        sc = result["sclite"]
        if sc is None:
            print("WER vs NIST sclite: skipped (sclite not installed; Debian: apt-get install sctk)")
        else:
            print(f"PHOENIX-2014 WER vs NIST sclite (CTM hypotheses, STM references): total errors "
                  f"{sc['totals_agree']}/{sc['corpora']} corpora; cleaning hypotheses as sentences (the old scoring): "
                  f"{sc['sentence_cleaning_agree']}/{sc['corpora']}")
    return result


if __name__ == "__main__":
    app()
