"""Word error rate for gloss sequences, with the PHOENIX-2014 / 2014-T cleanup applied before scoring.

Alignment: minimum edit distance with unit costs, so the error count equals the Levenshtein distance
that every scorer agrees on. Among alignments with that minimum, ties are broken as sclite's
3/3/4 (ins/del/sub) penalties break them: the one with the fewest substitutions, i.e. the most correct
words, wins (two substitutions ``A B -> B C`` become ``del A, B, ins C``). Only the sub/del/ins split
depends on the tie-break, never the total.

WER of one sentence is ``errors / max(ref_len, 1)`` so that an empty reference with a non-empty
hypothesis counts its insertions instead of dividing by zero; corpus WER is total errors over total
reference words (not a mean of sentence WERs). An empty hypothesis is all deletions (WER 1.0).

PHOENIX-2014 scoring follows the official evaluation: hypotheses are written as CTM, one gloss per line,
before its preprocess rules run, so only the single-token rules reach them (a repeat is never collapsed,
spelled letters are never joined in a hypothesis; ``clean_phoenix2014_ctm``); references are the
sentence-level STM (``clean_phoenix2014``). ``signdistill.metrics.sclite`` runs NIST sclite on the same
input, and ``benchmarks.crosschecks`` compares the totals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from itertools import groupby
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class WerCounts:
    """Error counts of one or many aligned sentences; ``+`` accumulates them over a corpus."""

    sub: int = 0
    dels: int = 0
    ins: int = 0
    ref_len: int = 0
    hyp_len: int = 0

    @property
    def errors(self) -> int:
        return self.sub + self.dels + self.ins

    @property
    def hits(self) -> int:
        return self.ref_len - self.sub - self.dels

    @property
    def wer(self) -> float:
        """Errors per reference word (a fraction; ``max(ref_len, 1)`` keeps empty references finite)."""
        return self.errors / max(self.ref_len, 1)

    def __add__(self, other: WerCounts) -> WerCounts:
        if not isinstance(other, WerCounts):
            return NotImplemented
        return WerCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __radd__(self, other: object) -> WerCounts:
        if other == 0:  # lets the built-in sum() start from 0
            return self
        return NotImplemented


def align(ref: Sequence[str], hyp: Sequence[str]) -> WerCounts:
    """Substitutions, deletions and insertions turning ``ref`` into ``hyp`` (see the module docstring).

    The DP minimises ``errors * big + substitutions`` (lexicographic: errors first). With the errors
    ``E`` and substitutions ``S`` of the last cell, deletions and insertions follow without a backtrace:
    ``D + I = E - S`` and ``D - I = len(ref) - len(hyp)``.
    """
    n, m = len(ref), len(hyp)
    big = n + m + 1  # more than any possible number of substitutions
    prev = [j * big for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [i * big] + [0] * m
        word = ref[i - 1]
        for j in range(1, m + 1):
            diag = prev[j - 1] if hyp[j - 1] == word else prev[j - 1] + big + 1
            cur[j] = min(diag, prev[j] + big, cur[j - 1] + big)
        prev = cur
    errors, subs = divmod(prev[m], big)
    dels = (errors - subs + n - m) // 2
    return WerCounts(sub=subs, dels=dels, ins=errors - subs - dels, ref_len=n, hyp_len=m)


# --- PHOENIX cleanup -------------------------------------------------------------------------------------

def _squeeze(text: str) -> str:
    """Single spaces, no leading/trailing ones: a deleted token must leave its neighbours adjacent."""
    return " ".join(text.split())


def _collapse_repeats(text: str) -> str:
    """Immediately repeated words: the official perl rule (4 passes), then any repeated token."""
    for _ in range(4):
        text = _REPEAT.sub(r"\1", text)
    return " ".join(word for word, _ in groupby(text.split()))


_REPEAT = re.compile(r"(?<![\w-])(\b[A-Z]+(?![\w-])) \1(?![\w-])")

# Single letters spelled out (fingerspelling) are joined with "+", as the sed lines of preprocess.sh do,
# in their order and number (the middle rule runs three times because each pass skips overlaps).
_JOIN_LETTERS: list[tuple[str, str]] = [
    (r"^([A-Z]) ([A-Z][+ ])", r"\1+\2"),
    (r"[ +]([A-Z]) ([A-Z]) ", r" \1+\2 "),
    (r"([ +][A-Z]) ([A-Z][ +])", r"\1+\2"),
    (r"([ +][A-Z]) ([A-Z][ +])", r"\1+\2"),
    (r"([ +][A-Z]) ([A-Z][ +])", r"\1+\2"),
    (r"([ +]SCH) ([A-Z][ +])", r"\1+\2"),
    (r"([ +]NN) ([A-Z][ +])", r"\1+\2"),
    (r"([ +][A-Z]) (NN[ +])", r"\1+\2"),
    (r"([ +][A-Z]) ([A-Z])$", r"\1+\2"),
]

_Rule = tuple[str, str] | Callable[[str], str]
EMPTY = "[EMPTY]"  # what the official evaluation scores for a hypothesis whose glosses its rules all removed

# PHOENIX-2014: the official evaluation/preprocess.sh, rule by rule and in its order, applied to whole
# sentences (docs/data.md, "Scoring"). __ON__/__OFF__ stay.
PHOENIX2014_RULES: list[_Rule] = [
    _squeeze,
    ("loc-", ""), ("cl-", ""), ("qu-", ""), ("poss-", ""), ("lh-", ""),
    ("S0NNE", "SONNE"), ("HABEN2", "HABEN"),
    ("__EMOTION__", ""), ("__PU__", ""), ("__LEFTHAND__", ""),
    _squeeze,
    ("WIE AUSSEHEN", "WIE-AUSSEHEN"), ("ZEIGEN ", "ZEIGEN-BILDSCHIRM "), ("ZEIGEN$", "ZEIGEN-BILDSCHIRM"),
    *_JOIN_LETTERS,
    (r"([A-Z][A-Z])RAUM", r"\1"),
    ("-PLUSPLUS", ""),
    _squeeze,
    _collapse_repeats,
    (r"(?<!\S)(__EPENTHESIS__|__LEFTHAND__|__EMOTION__)(?!\S)", ""),  # the trailing `grep -v`s
    _squeeze,
]

# PHOENIX-2014-T: the whole-sentence cleanup of the 2014-T recognition results (Camgoz et al.'s
# phoenix_cleanup.clean_phoenix_2014_trans): every __X__ token, loc-, cl- and -PLUSPLUS go; spelled
# letters are joined and repeats collapsed as for 2014.
PHOENIX2014T_RULES: list[_Rule] = [
    _squeeze,
    ("__LEFTHAND__", ""), ("__EPENTHESIS__", ""), ("__EMOTION__", ""), (r"\b__[^_ ]*__\b", ""),
    (r"\bloc-([^ ]*)\b", r"\1"), (r"\bcl-([^ ]*)\b", r"\1"), (r"\b([^ ]*)-PLUSPLUS\b", r"\1"),
    (r"\b([A-Z][A-Z]*)RAUM\b", r"\1"),
    _squeeze,
    ("WIE AUSSEHEN", "WIE-AUSSEHEN"),
    *_JOIN_LETTERS,
    _squeeze,
    _collapse_repeats,
]


def _compile(rules: list[_Rule]) -> list[Callable[[str], str]]:
    steps: list[Callable[[str], str]] = []
    for rule in rules:
        if callable(rule):
            steps.append(rule)
        else:
            pattern, repl = re.compile(rule[0]), rule[1]
            steps.append(lambda text, p=pattern, r=repl: p.sub(r, text))
    return steps


_STEPS_2014 = _compile(PHOENIX2014_RULES)
_STEPS_2014T = _compile(PHOENIX2014T_RULES)


def _apply(steps: list[Callable[[str], str]], sentence: str) -> str:
    for step in steps:
        sentence = step(sentence)
    return sentence


def clean_phoenix2014(sentence: str) -> str:
    """PHOENIX-2014 cleanup of one gloss sentence (``PHOENIX2014_RULES``), applied to refs and hyps alike."""
    return _apply(_STEPS_2014, sentence)


def clean_phoenix2014_ctm(sentence: str) -> str:
    """A PHOENIX-2014 hypothesis as the official evaluation sees it: each gloss alone on its CTM line goes
    through the rules (so only the single-token ones can fire), glosses the rules empty are dropped, and
    a hypothesis left with none becomes ``[EMPTY]`` (the evaluation's awk step). Against a reference of N
    words ``[EMPTY]`` costs N errors, as N deletions would; against an empty reference it is an insertion."""
    words = [word for word in (_apply(_STEPS_2014, word) for word in sentence.split()) if word]
    return " ".join(words) if words or not sentence.split() else EMPTY


def clean_phoenix2014t(sentence: str) -> str:
    """PHOENIX-2014-T cleanup of one gloss sentence (``PHOENIX2014T_RULES``), for refs and hyps alike."""
    return _apply(_STEPS_2014T, sentence)


CLEANERS: dict[str, Callable[[str], str]] = {
    "phoenix2014": clean_phoenix2014,
    "phoenix2014t": clean_phoenix2014t,
    "none": _squeeze,
}
# Where a hypothesis is cleaned otherwise than its reference (PHOENIX-2014's CTM path, see the docstring).
HYPOTHESIS_CLEANERS: dict[str, Callable[[str], str]] = {**CLEANERS, "phoenix2014": clean_phoenix2014_ctm}


# --- corpus scoring --------------------------------------------------------------------------------------

def _rates(counts: WerCounts) -> dict[str, Any]:
    """Percentages of reference words, as the papers report them, plus the raw counts."""
    denom = max(counts.ref_len, 1)
    return {
        "wer": 100.0 * counts.wer, "sub": 100.0 * counts.sub / denom, "del": 100.0 * counts.dels / denom,
        "ins": 100.0 * counts.ins / denom,
        "counts": {"sub": counts.sub, "del": counts.dels, "ins": counts.ins, "errors": counts.errors,
                   "ref_words": counts.ref_len, "hyp_words": counts.hyp_len},
    }


def score_corpus(refs: Mapping[str, str], hyps: Mapping[str, str], rules: str = "phoenix2014",
                 signers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Corpus WER over the ids of ``refs``, both sides cleaned with ``rules`` first (PHOENIX-2014 hypotheses
    gloss by gloss, as the official CTM path does).

    Ids missing from ``hyps`` are scored as empty hypotheses (all deletions) and listed; hypotheses for
    ids not in ``refs`` are listed and ignored. ``wer``/``sub``/``del``/``ins`` are percentages of
    reference words; ``samples`` has one row per reference; ``per_signer`` is present when ``signers``
    maps ids to signers (ids it lacks are grouped under ``"unknown"``).
    """
    if rules not in CLEANERS:
        raise ValueError(f"unknown rules {rules!r}; expected one of {sorted(CLEANERS)}")
    clean, clean_hyp = CLEANERS[rules], HYPOTHESIS_CLEANERS[rules]
    total, samples = WerCounts(), []
    by_signer: dict[str, WerCounts] = {}
    for key, ref_text in refs.items():
        ref, hyp = clean(ref_text), clean_hyp(hyps.get(key, ""))
        counts = align(ref.split(), hyp.split())
        total += counts
        row = {"id": key, "ref": ref, "hyp": hyp, "sub": counts.sub, "del": counts.dels, "ins": counts.ins,
               "ref_words": counts.ref_len, "wer": 100.0 * counts.wer}
        if signers is not None:
            row["signer"] = signers.get(key, "unknown")
            by_signer[row["signer"]] = by_signer.get(row["signer"], WerCounts()) + counts
        samples.append(row)
    result = {"rules": rules, "samples_scored": len(samples), **_rates(total),
              "missing_hyps": [k for k in refs if k not in hyps], "extra_hyps": [k for k in hyps if k not in refs]}
    if signers is not None:
        result["per_signer"] = {s: {k: v for k, v in _rates(c).items() if k != "counts"} | {"ref_words": c.ref_len}
                                for s, c in sorted(by_signer.items())}
    result["samples"] = samples
    return result


def read_transcripts(path: str | Path) -> dict[str, str]:
    """``<id> <gloss> <gloss> ...`` per line (a line with only the id is an empty hypothesis).

    Blank lines are skipped; a repeated id is an error rather than a silent overwrite.
    """
    out: dict[str, str] = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if parts[0] in out:
            raise ValueError(f"{path}:{lineno}: id {parts[0]!r} appears twice")
        out[parts[0]] = " ".join(parts[1:])
    return out


_CSV_COLUMNS = {"id": ("id", "name"), "text": ("annotation", "orth", "gloss"), "signer": ("signer", "speaker")}


def read_corpus_csv(path: str | Path) -> tuple[dict[str, str], dict[str, str]]:
    """References and signers from a PHOENIX-style ``|``-separated corpus CSV (2014 or 2014-T header)."""
    lines = [ln for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        return {}, {}
    header = lines[0].split("|")
    cols = {}
    for role, names in _CSV_COLUMNS.items():
        found = [header.index(name) for name in names if name in header]
        if not found and role != "signer":
            raise ValueError(f"{path}: header {header} has none of the columns {names}")
        cols[role] = found[0] if found else None
    refs, signers = {}, {}
    for line in lines[1:]:
        values = line.split("|")
        refs[values[cols["id"]]] = values[cols["text"]]
        if cols["signer"] is not None:
            signers[values[cols["id"]]] = values[cols["signer"]]
    return refs, signers
