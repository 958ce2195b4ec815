"""WER counts against jiwer, every PHOENIX cleanup rule, corpus scoring, transcript files and the CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signdistill.benchmarks.crosschecks import phoenix_corpus, scorer_vs_jiwer
from signdistill.console import app
from signdistill.metrics import (
    WerCounts,
    align,
    clean_phoenix2014,
    clean_phoenix2014_ctm,
    clean_phoenix2014t,
    read_corpus_csv,
    read_transcripts,
    score_corpus,
)
from signdistill.metrics.sclite import run_sclite, sclite_command


def test_counts_agree_with_jiwer() -> None:
    """Totals always equal jiwer's; the sub/del/ins split too wherever the minimum alignment is unique.

    Where several minimum-error alignments exist (a tie), the split is a convention: we keep the most
    correct words (sclite's choice), jiwer's backtrace may not, so only the totals are compared there.
    """
    pytest.importorskip("jiwer")
    result = scorer_vs_jiwer(600)
    assert result["totals_agree"] == result["fewest_substitutions"] == 600
    assert result["unique_split_agree"] == result["unique_alignments"] > 300
    assert result["split_agree"] >= 450


def test_align_edge_cases_and_tie_break() -> None:
    assert align(["A", "B", "C"], []) == WerCounts(sub=0, dels=3, ins=0, ref_len=3, hyp_len=0)
    assert align([], ["A", "B"]) == WerCounts(sub=0, dels=0, ins=2, ref_len=0, hyp_len=2)
    assert align([], ["A", "B"]).wer == 2.0  # errors / max(ref_len, 1)
    assert align([], []).wer == 0.0 and align(["A"], []).wer == 1.0
    # two substitutions or a deletion, a hit and an insertion: the hit wins
    assert align(["A", "B"], ["B", "C"]) == WerCounts(sub=0, dels=1, ins=1, ref_len=2, hyp_len=2)
    assert align(["A", "B", "C"], ["A", "X", "C"]) == WerCounts(sub=1, dels=0, ins=0, ref_len=3, hyp_len=3)


def test_counts_add_up() -> None:
    a, b = align(["A", "B"], ["A"]), align(["C"], ["C", "D"])
    total = sum([a, b])
    assert total == a + b == WerCounts(sub=0, dels=1, ins=1, ref_len=3, hyp_len=3)
    assert total.errors == 2 and total.hits == 2 and total.wer == pytest.approx(2 / 3)


@pytest.mark.parametrize("raw,expected", [
    # prefixes
    ("loc-REGEN cl-KOMMEN qu-WAS poss-MEIN lh-HAND", "REGEN KOMMEN WAS MEIN HAND"),
    # spelling fixes
    ("S0NNE HABEN2", "SONNE HABEN"),
    # non-sign tokens; __ON__/__OFF__ stay in 2014
    ("__ON__ REGEN __EMOTION__ __PU__ __LEFTHAND__ NORD __OFF__", "__ON__ REGEN NORD __OFF__"),
    # compounds
    ("WIE AUSSEHEN", "WIE-AUSSEHEN"),
    ("ZEIGEN REGEN ZEIGEN", "ZEIGEN-BILDSCHIRM REGEN ZEIGEN-BILDSCHIRM"),
    ("ZEIGEN-BILDSCHIRM", "ZEIGEN-BILDSCHIRM"),
    # spelled letters
    ("REGEN A B", "REGEN A+B"),
    ("A B", "A B"),  # the sed rules need a space or "+" before the first letter or a third letter
    ("REGEN A B C NORD", "REGEN A+B+C NORD"),
    ("DANN SCH A FEST", "DANN SCH+A FEST"),
    ("DANN NN B FEST", "DANN NN+B FEST"),
    ("DANN B NN FEST", "DANN B+NN FEST"),
    # XXRAUM
    ("WARTERAUM RAUM", "WARTE RAUM"),
    # -PLUSPLUS
    ("KOMMEN-PLUSPLUS", "KOMMEN"),
    # repeats
    ("REGEN REGEN REGEN NORD REGEN", "REGEN NORD REGEN"),
    # __EPENTHESIS__ dropped last
    ("REGEN __EPENTHESIS__ NORD", "REGEN NORD"),
    # whitespace
    ("  REGEN   NORD  ", "REGEN NORD"),
    ("", ""),
])
def test_phoenix2014_each_rule(raw: str, expected: str) -> None:
    assert clean_phoenix2014(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("loc-REGEN REGEN", "REGEN"),  # prefixes go before repeats collapse
    ("KOMMEN-PLUSPLUS KOMMEN", "KOMMEN"),  # so does -PLUSPLUS
    ("S0NNE SONNE", "SONNE"),  # and the spelling fixes
    ("ZEIGEN ZEIGEN", "ZEIGEN-BILDSCHIRM"),  # compound first, then the repeat
    ("WIE __EMOTION__ AUSSEHEN", "WIE-AUSSEHEN"),  # deletion first makes the pair adjacent
    ("REGEN A __PU__ B", "REGEN A+B"),
    ("REGEN __EPENTHESIS__ REGEN", "REGEN REGEN"),  # dropped after the collapse, as grep -v runs last
    ("A B C DORT", "A B+C DORT"),  # the official sed sequence: rule 1 joins A+B, rule 2 re-splits at '+'
    ("X A B C", "X A+B+C"),
])
def test_phoenix2014_rule_order(raw: str, expected: str) -> None:
    assert clean_phoenix2014(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("__ON__ loc-ORT cl-KOMMEN BESUCH-PLUSPLUS __OFF__", "ORT KOMMEN BESUCH"),
    ("__EMOTION__ REGEN __PU__ __EPENTHESIS__ __LEFTHAND__ NORD __SI__", "REGEN NORD"),
    ("REGEN __EPENTHESIS__ REGEN", "REGEN"),  # __X__ removal comes before the collapse in 2014-T
    ("S0NNE ZEIGEN", "S0NNE ZEIGEN"),  # 2014-only spelling and compound rules do not apply
    ("WARTERAUM A B", "WARTE A+B"),
    ("  ", ""),
])
def test_phoenix2014t(raw: str, expected: str) -> None:
    assert clean_phoenix2014t(raw) == expected


def test_score_corpus_counts_missing_as_deletions_and_groups_signers() -> None:
    refs = {"s1": "__ON__ loc-REGEN NORD", "s2": "WETTER MORGEN", "s3": "REGEN A B"}
    hyps = {"s1": "__ON__ REGEN SUED", "s3": "REGEN A+B", "zz": "REGEN"}
    out = score_corpus(refs, hyps, rules="phoenix2014", signers={"s1": "Signer01", "s2": "Signer05"})
    assert out["counts"] == {"sub": 1, "del": 2, "ins": 0, "errors": 3, "ref_words": 7, "hyp_words": 5}
    assert out["wer"] == pytest.approx(300 / 7) and out["del"] == pytest.approx(200 / 7)
    assert out["missing_hyps"] == ["s2"] and out["extra_hyps"] == ["zz"]
    assert [row["id"] for row in out["samples"]] == ["s1", "s2", "s3"]
    assert out["samples"][2] | {"wer": 0} == {"id": "s3", "ref": "REGEN A+B", "hyp": "REGEN A+B", "sub": 0, "del": 0,
                                             "ins": 0, "ref_words": 2, "wer": 0, "signer": "unknown"}
    assert out["per_signer"]["Signer05"]["wer"] == pytest.approx(100.0)
    assert out["per_signer"]["Signer01"]["wer"] == pytest.approx(100 / 3)
    assert set(out["per_signer"]) == {"Signer01", "Signer05", "unknown"}
    assert score_corpus(refs, hyps, rules="none")["counts"]["ref_words"] == 8
    with pytest.raises(ValueError, match="unknown rules"):
        score_corpus(refs, hyps, rules="phoenix")


def test_read_transcripts(tmp_path: Path) -> None:
    path = tmp_path / "hyp.txt"
    path.write_text("a REGEN  NORD\n\nb\nc WETTER\n", encoding="utf-8")
    assert read_transcripts(path) == {"a": "REGEN NORD", "b": "", "c": "WETTER"}
    path.write_text("a REGEN\na NORD\n", encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        read_transcripts(path)


def test_read_corpus_csv_both_headers(tmp_path: Path) -> None:
    p14 = tmp_path / "dev.corpus.csv"
    p14.write_text("id|folder|signer|annotation\nx1|x1/1/*.png|Signer04|__ON__ REGEN  NORD\n", encoding="utf-8")
    assert read_corpus_csv(p14) == ({"x1": "__ON__ REGEN  NORD"}, {"x1": "Signer04"})
    p14t = tmp_path / "PHOENIX-2014-T.dev.corpus.csv"
    p14t.write_text("name|video|start|end|speaker|orth|translation\nn1|n1/1/*.png|-1|-1|Signer08|REGEN|es regnet\n",
                    encoding="utf-8")
    assert read_corpus_csv(p14t) == ({"n1": "REGEN"}, {"n1": "Signer08"})


def test_score_cli(tmp_path: Path) -> None:
    ref, hyp = tmp_path / "ref.txt", tmp_path / "hyp.txt"
    ref.write_text("a __ON__ loc-REGEN NORD\nb WETTER MORGEN\n", encoding="utf-8")
    hyp.write_text("a __ON__ REGEN SUED\nb\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["score", "--ref", str(ref), "--hyp", str(hyp), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["counts"] == {"sub": 1, "del": 2, "ins": 0, "errors": 3, "ref_words": 5, "hyp_words": 3}
    assert out["wer"] == pytest.approx(60.0) and len(out["samples"]) == 2
    text = runner.invoke(app, ["score", "--ref", str(ref), "--hyp", str(hyp), "--rules", "phoenix2014t"])
    assert text.exit_code == 0 and "wer: 75.0" in text.stdout and "samples" not in text.stdout.replace(
        "samples_scored", "")
    bad = runner.invoke(app, ["score", "--ref", str(ref), "--hyp", str(tmp_path / "none.txt")])
    assert bad.exit_code == 2


def test_phoenix2014_hypotheses_are_cleaned_gloss_by_gloss_as_ctm_lines() -> None:
    """The official path writes one gloss per CTM line, so the multi-word rules never reach a hypothesis:
    a repeat stays two words (an insertion), spelled letters stay apart; references are whole sentences."""
    refs = {"a": "REGEN NORD", "b": "REGEN A B", "c": "NORD", "d": ""}
    hyps = {"a": "REGEN REGEN NORD", "b": "REGEN A B", "c": "__EMOTION__ __PU__", "d": "__PU__"}
    rows = {row["id"]: row for row in score_corpus(refs, hyps, rules="phoenix2014")["samples"]}
    assert (rows["a"]["hyp"], rows["a"]["ins"]) == ("REGEN REGEN NORD", 1)
    assert (rows["b"]["ref"], rows["b"]["hyp"], rows["b"]["sub"] + rows["b"]["ins"]) == ("REGEN A+B", "REGEN A B", 2)
    # every gloss removed: the evaluation's [EMPTY], as many errors as deletions would be, but one against nothing
    assert (rows["c"]["hyp"], rows["c"]["sub"] + rows["c"]["del"]) == ("[EMPTY]", 1)
    assert rows["d"]["ins"] == 1
    assert clean_phoenix2014_ctm("ZEIGEN loc-REGEN WARTERAUM KOMMEN-PLUSPLUS") == "ZEIGEN-BILDSCHIRM REGEN WARTE KOMMEN"
    assert score_corpus({"a": "X X"}, {"a": "X X"}, rules="phoenix2014t")["wer"] == 0.0  # 2014-T: sentences


@pytest.mark.skipif(sclite_command() is None, reason="NIST sclite not installed (Debian: apt-get install sctk)")
def test_phoenix2014_wer_equals_nist_sclite_on_the_official_path() -> None:
    rng = random.Random(1)
    for _ in range(15):
        refs, hyps = phoenix_corpus(rng)
        theirs = run_sclite(refs, hyps)
        ours = score_corpus(refs, hyps, rules="phoenix2014")["counts"]
        assert (ours["errors"], ours["ref_words"]) == (theirs["errors"], theirs["ref_words"]), (refs, hyps)
