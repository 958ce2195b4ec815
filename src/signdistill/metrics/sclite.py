"""NIST sclite (Debian package ``sctk``) on the official PHOENIX-2014 path, to cross-check ``score_corpus``.

The official evaluation writes hypotheses as CTM (one gloss per line), runs its preprocess sed/perl rules
over those lines, drops the lines whose gloss they emptied (an id left with none gets ``[EMPTY]``), and
scores them with ``sclite -f 0`` against the reference STM (one cleaned sentence per line). This module
does the same with the rules of ``PHOENIX2014_RULES`` applied the way sed applies them: to whole CTM lines.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from signdistill.metrics.wer import PHOENIX2014_RULES, clean_phoenix2014

_PERL_REPEAT = re.compile(r"(?<![\w-])(\b[A-Z]+(?![\w-])) \1(?![\w-])")
_GREP_V = ("__LEFTHAND__", "__EPENTHESIS__", "__EMOTION__")
# the sed lines (every string rule of the table but the last, which stands for the trailing grep -v)
_SED = [(re.compile(rule[0]), rule[1]) for rule in PHOENIX2014_RULES
        if not callable(rule) and "__EPENTHESIS__" not in rule[0]]


def sclite_command() -> list[str] | None:
    """``sclite`` when it is on the PATH, else Debian's ``sctk sclite`` wrapper, else None."""
    if shutil.which("sclite"):
        return ["sclite"]
    if shutil.which("sctk"):
        return ["sctk", "sclite"]
    return None


def preprocess_ctm_line(line: str) -> str | None:
    """One CTM line through the evaluation's preprocess: the sed rules, the perl repeat rule (4 passes) and
    the ``grep -v`` filters; None where the line is dropped (filtered, or its gloss emptied)."""
    for pattern, repl in _SED:
        line = pattern.sub(repl, line)
    for _ in range(4):
        line = _PERL_REPEAT.sub(r"\1", line)
    if any(token in line for token in _GREP_V) or len(line.split()) < 5:
        return None
    return line


def ctm_lines(hyps: Mapping[str, str]) -> list[str]:
    """Hypotheses as preprocessed CTM lines, sorted by id and time; ``[EMPTY]`` for an id whose glosses were
    all dropped (as the official awk step does), nothing for an empty hypothesis."""
    out = []
    for key in sorted(hyps):
        words = hyps[key].split()
        kept = [preprocess_ctm_line(f"{key} 1 {0.04 * k:.3f} 0.030 {w}") for k, w in enumerate(words)]
        kept = [line for line in kept if line is not None]
        out += kept if kept or not words else [f"{key} 1 0.000 0.030 [EMPTY]"]
    return out


def stm_lines(refs: Mapping[str, str]) -> list[str]:
    """References as STM segments, each the sentence after the PHOENIX-2014 cleanup."""
    return [f"{key} 1 speaker 0.000 1000.000 {clean_phoenix2014(refs[key])}" for key in sorted(refs)]


def run_sclite(refs: Mapping[str, str], hyps: Mapping[str, str], command: list[str] | None = None) -> dict[str, int]:
    """sclite's corpus counts (``sub``, ``del``, ``ins``, ``errors``, ``ref_words``) for ``hyps`` against
    ``refs`` on the official PHOENIX-2014 path (ids of ``refs`` only)."""
    command = command or sclite_command()
    if command is None:
        raise FileNotFoundError("sclite not found: install it (Debian: apt-get install sctk)")
    with tempfile.TemporaryDirectory() as tmp:
        hyp, ref = Path(tmp) / "hyp.ctm", Path(tmp) / "ref.stm"
        hyp.write_text("\n".join(ctm_lines({k: v for k, v in hyps.items() if k in refs})) + "\n", encoding="utf-8")
        ref.write_text("\n".join(stm_lines(refs)) + "\n", encoding="utf-8")
        out = subprocess.run([*command, "-h", str(hyp), "ctm", "-r", str(ref), "stm", "-f", "0", "-o", "dtl",
                              "stdout"], capture_output=True, text=True, check=True).stdout
    return parse_dtl(out)


def parse_dtl(text: str) -> dict[str, int]:
    """The corpus counts of sclite's ``dtl`` report."""
    fields = {"errors": "Percent Total Error", "sub": "Percent Substitution", "del": "Percent Deletions",
              "ins": "Percent Insertions", "ref_words": "Ref. words"}
    out = {}
    for key, label in fields.items():
        match = re.search(re.escape(label) + r"\s*=.*?\(\s*(\d+)\)", text)
        if match is None:
            raise ValueError(f"sclite's report has no {label!r} line:\n{text[-2000:]}")
        out[key] = int(match.group(1))
    return out
