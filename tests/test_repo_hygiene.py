"""The repository speaks of the product only, and measured numbers live in generated results only.

Measured times, WERs and ratios go stale the moment code or configuration changes, so they are kept where they
are regenerated (``docs/results.md``, written by ``signdistill results``, and the reports under ``data/``), never
in configuration comments, docstrings, code comments or hand-written docs. Nor does the repository speak of
how it was built (the periods of work, tracker numbers, appraisals, commit hashes, particular machines).
Structural facts that a test checks (a model's parameter count, the papers' own numbers) are fine.

This file is held to the same rule: its patterns and the leaks they must catch spell the forbidden words so that
the grep does not see them (character classes, words joined at run time).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from signdistill.benchmarks._scaling_estimate import BEGIN as SCALING_BEGIN
from signdistill.benchmarks._scaling_estimate import END as SCALING_END
from signdistill.reporting.results import END, START

ROOT = Path(__file__).resolve().parents[1]
GENERATED = {ROOT / "docs" / "results.md"}
# The words that leaked, joined at run time so that this file's own text stays clean.
LEAKED = {"period": "ses" + "sion", "Period": "Ses" + "sion", "tracker": "is" + "sue", "Tracker": "Is" + "sue",
          "appraisal": "re" + "view", "hash": "dc5" + "27fe", "vcs": "git " + "checkout", "gpu": "H" + "200",
          "box": "GPU " + "box"}


def leak(template: str) -> str:
    """``template`` with each ``<word>`` replaced by the leaked word it stands for."""
    return re.sub(r"<(\w+)>", lambda m: LEAKED[m.group(1)], template)

_NUM = r"\d+(?:[.,]\d+)?"
# What measurements looked like when they leaked into prose and comments.
MEASURED = {
    "a WER figure": (rf"{_NUM} ?%? (?:test|dev) WER"
                     rf"|\b(?:test|dev) WERs? (?:of |at |to )?{_NUM}\b(?! ?(?:epochs?|seeds?)\b)"),
    "mean +- std": rf"\d\.?\d* ?\+- ?{_NUM}",
    "seconds or minutes per step/epoch": rf"{_NUM} ?(?:s|ms|min)(?:/| per )(?:step|epoch|clip|run)\b|\bs/epoch\b",
    "a wall time": rf"{_NUM} ?(?:s|min) (?:wall|idle|on (?:one|two|2|the|a) )",
    "a throughput": rf"{_NUM} ?(?:clips|frames|pairs|videos|steps)/s\b",
    "a speed ratio": rf"{_NUM} ?x (?:faster|slower|the throughput|a scratch|the step time|CTC\b)",
    "an approximate duration": rf"~ ?{_NUM} ?(?:s|ms|min|minutes|hours?)\b",
}
# How the project's history leaked into it.
HISTORY = {
    "a work session": (r"(?i)(?<!Kedro )(?<!Kedro's )(?<!pytest )(?<!test )(?<!as )(?<![-\w.])"
                       r"se[s]sions?\b(?![-_.(\"=]|\s+(?:fixture|scope))"),
    "an issue number": r"(?i)\bissues? ?#?\d+",
    "an appraisal": r"(?i)\brevie[w](?:s|ed|er|'s)?\b",
    "a commit hash": r"(?<![\w/.\-\"'])(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}(?![\w.-])",
    "a git command": r"\bgit (?:checkout|commit|log|rebase|stash|reset)\b",
    "a particular machine": (r"\b(?:H[1]00|H[2]00|A[1]00|GPU[ ]box|this[ ]machine|these[ ]machines"
                             r"|the[ ]machine at hand)\b"),
}

NUMBER_FILES = ["README.md", "conf/**/*.yml", "src/**/*.py", "docs/**/*.md"]
HISTORY_FILES = [*NUMBER_FILES, "tests/**/*.py", "conf/**/*", ".ci/*", "pyproject.toml", "docs/*.py",
                 "notebooks/*.ipynb"]


def _files(patterns: list[str]) -> list[Path]:
    found = {path for pattern in patterns for path in ROOT.glob(pattern) if path.is_file()}
    return sorted(found - GENERATED)


def offences(text: str, patterns: dict[str, str]) -> list[tuple[int, str, str]]:
    """``(line number, what, line)`` for every line of ``text`` that matches one of ``patterns``."""
    compiled = {what: re.compile(pattern) for what, pattern in patterns.items()}
    return [(number, what, line.strip()) for number, line in enumerate(text.splitlines(), 1)
            for what, pattern in compiled.items() if pattern.search(line)]


def without_generated_blocks(text: str) -> str:
    """``text`` with the lines between generated-block markers blanked (the README's headline table, written by
    ``signdistill results``; docs/scaling.md's estimates, written by ``signdistill bench scaling --estimate``);
    line numbers are kept."""
    for start, end in ((START, END), (SCALING_BEGIN, SCALING_END)):
        text = re.sub(rf"{re.escape(start)}.*?{re.escape(end)}", lambda m: "\n" * m.group(0).count("\n"), text,
                      flags=re.S)
    return text


def _report(patterns: dict[str, str], files: list[Path]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{number}: {what}: {line}" for path in files
            for number, what, line in offences(without_generated_blocks(path.read_text(errors="replace")), patterns)]


def test_no_measured_numbers_outside_generated_results() -> None:
    found = _report(MEASURED, _files(NUMBER_FILES))
    assert not found, ("measured numbers belong in generated results (docs/results.md, data/08_reporting); say why "
                       "a value was chosen and point there instead:\n" + "\n".join(found))


def test_the_repository_speaks_of_the_product_only() -> None:
    found = _report(HISTORY, _files(HISTORY_FILES))
    assert not found, "words about how the project was built, not what it is:\n" + "\n".join(found)


@pytest.mark.parametrize(("line", "patterns"), [
    ("test WER 64.9, train CTC 14.8", MEASURED),
    ("(34.5% test WER, 3 seeds)", MEASURED),
    ("the SDPN stays on the gloss prior (ctca_sdpn 64.5 test WER)", MEASURED),
    ("test WER 20.1 +- 2.1 over 3 seeds", MEASURED),
    ("scratch 0.97 s per step, online 2.71 s", MEASURED),
    ("58 s wall (50 s on a rerun)", MEASURED),
    ("a distilled epoch 1.45x a scratch one", MEASURED),
    ("~30 min on 2 cores", MEASURED),
    ("MediaPipe Holistic (~14 frames/s per core)", MEASURED),
    ("README, <period> 9", HISTORY),
    ("<Period> 5 on an <gpu>", HISTORY),
    ("chosen for <tracker> 17's cost goal", HISTORY),
    ("<Tracker> 18's diagnostic", HISTORY),
    ("the <appraisal>'s findings", HISTORY),
    ("the losses of commit <hash>", HISTORY),
    ("<vcs> HEAD -- the same files", HISTORY),
    ("run on the <box>", HISTORY),
])
def test_patterns_catch_what_leaked_before(line: str, patterns: dict[str, str]) -> None:
    assert offences(leak(line), patterns)


@pytest.mark.parametrize("line", [
    "with KedroSession.create(project_path=project) as session:",
    '@pytest.fixture(scope="session")',
    "Each test is one Kedro session",
    "s3d-d76dad2f.pth",
    "flow_bound: 20.0        # uint8 storage covers +-20 px",
    "epochs: 24  # the baseline's calibrated budget (parameters_baseline.yml)",
    "dev WER by epoch of ``run``, the best epoch marked",
    "Table VIII: 56 px, 10.413 M parameters, 168.84 GMACs",
])
def test_patterns_spare_the_product(line: str) -> None:
    assert not offences(line, MEASURED | HISTORY)
