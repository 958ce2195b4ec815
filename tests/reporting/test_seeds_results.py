"""The seeds verdict table and figure, and docs/results.md generated from them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from signdistill.reporting.results import (
    END,
    HEADLINE,
    START,
    find_reports,
    page_sections,
    results_markdown,
    write_results,
)
from signdistill.reporting.seeds import seeds_inputs, seeds_report

SEEDS = [0, 1, 2]


def _metrics(dev: float, test: float) -> dict:
    return {"dev_wer": {"value": dev, "step": 0}, "test_wer": {"value": test, "step": 0}}


def _report() -> tuple[pd.DataFrame, object, dict]:
    method = [_metrics(30, t) for t in (32.0, 32.8, 31.7)]
    baseline = [_metrics(40, t) for t in (39.4, 37.8, 34.0)]
    return seeds_report(*method, *baseline, comparisons=[("crkd_distilled", "crkd_scratch")], seeds=SEEDS,
                        title="CRKD over seeds")


def test_inputs_are_every_seed_of_both_runs_in_order() -> None:
    assert seeds_inputs([("smkd", "student_res")], [0, 3]) == [
        "smkd_seed0.wer_metrics", "smkd_seed3.wer_metrics", "student_res_seed0.wer_metrics",
        "student_res_seed3.wer_metrics"]


def test_table_has_seeds_summary_and_verdict() -> None:
    table, figure, metrics = _report()
    assert table.row.tolist() == ["seed 0", "seed 1", "seed 2", "mean", "std", "verdict (test WER)"]
    assert table.set_index("row").loc["mean", "method_test_wer"] == pytest.approx(32.1666, abs=1e-3)
    verdict = table.iloc[-1]
    assert verdict.verdict == "beats" and verdict.ci95_low < verdict.difference < verdict.ci95_high
    assert metrics["crkd_distilled_vs_crkd_scratch.beats"]["value"] == 1.0
    assert "beats" in figure.axes[0].get_title() and len(figure.axes[0].collections) == 4  # points and mean of each run


def test_results_markdown_and_readme_block(tmp_path: Path) -> None:
    reporting = tmp_path / "08_reporting"
    reporting.mkdir()
    _report()[0].to_csv(reporting / "crkd_seeds.csv", index=False)
    text = results_markdown(find_reports([reporting]), "2026-01-01")
    assert "`uv run kedro run --pipelines seeds_crkd`" in text and "at commit `" in text
    assert "| CRKD | crkd_distilled vs crkd_scratch | 3 | 32.2 +- 0.6 | 37.1 +- 2.8 |" in text
    assert "`uv run kedro run --pipelines seeds_smkd`" in text  # what is not measured says how to measure it
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold\n{END}\nrest\n")
    write_results(reporting, tmp_path / "results.md", readme)
    updated = readme.read_text()
    assert updated.startswith("intro\n") and updated.endswith(f"{END}\nrest\n") and "old" not in updated
    assert "32.2 +- 0.6" in updated and (tmp_path / "results.md").read_text().startswith("# Results")


def test_results_of_another_checkout_name_its_commit_and_its_own_paths(tmp_path: Path) -> None:
    """Reports read from another checkout's data/ are named as that checkout names them, with its commit."""
    import subprocess

    checkout = tmp_path / "other"
    reporting = checkout / "data" / "08_reporting"
    reporting.mkdir(parents=True)
    _report()[0].to_csv(reporting / "crkd_seeds.csv", index=False)
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "trained here"], check=True)
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    text = write_results(reporting, tmp_path / "results.md")
    assert "`data/08_reporting/crkd_seeds.csv` (per seed" in text and f"at commit `{commit}`" in text
    assert str(tmp_path) not in text


def test_reports_of_two_checkouts_each_name_their_own_commit(tmp_path: Path) -> None:
    """Verdicts trained in two checkouts are merged; each section names its own commit, a later folder wins."""
    import subprocess

    folders = []
    for name in ("old", "new"):
        checkout = tmp_path / name
        reporting = checkout / "data" / "08_reporting"
        reporting.mkdir(parents=True)
        git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", name], check=True)
        folders.append(reporting)
    commits = [subprocess.run(["git", "-C", str(f.parents[1]), "rev-parse", "--short", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip() for f in folders]
    table = _report()[0]
    table.to_csv(folders[0] / "smkd_seeds.csv", index=False)
    table.to_csv(folders[0] / "crkd_seeds.csv", index=False)
    table.assign(comparison="crkd_distilled vs crkd_newer").to_csv(folders[1] / "crkd_seeds.csv", index=False)
    text = write_results(folders, tmp_path / "results.md")
    smkd, crkd = text.split("## SMKD over seeds")[1], text.split("## CRKD over seeds")[1].split("##")[0]
    assert f"at commit `{commits[0]}`" in smkd.split("##")[0] and f"at commit `{commits[1]}`" in crkd
    assert "crkd_newer" in crkd and "crkd_distilled vs crkd_scratch" not in crkd


def test_the_readme_shows_each_methods_first_comparison_and_the_doc_all(tmp_path: Path) -> None:
    import pandas as pd

    reporting = tmp_path / "08_reporting"
    reporting.mkdir()
    first = _report()[0]
    second = first.assign(comparison="crkd_distilled vs crkd_other")
    pd.concat([first, second]).to_csv(reporting / "crkd_seeds.csv", index=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"{START}\n{END}\n")
    text = write_results(reporting, tmp_path / "results.md", readme)
    assert text.count("crkd_distilled vs crkd_other") == 2  # headline and the method's section
    assert "crkd_distilled vs crkd_scratch" in readme.read_text() and "crkd_other" not in readme.read_text()


def test_a_long_title_stays_inside_a_one_panel_figure() -> None:
    method = [_metrics(30, t) for t in (32.0, 32.8, 31.7)]
    baseline = [_metrics(40, t) for t in (39.4, 37.8, 34.0)]
    title = "SignKD: RGB student distilled against from scratch over seeds, a title longer than one panel"
    _, figure, _ = seeds_report(*method, *baseline, comparisons=[("a", "b")], seeds=SEEDS, title=title)
    figure.canvas.draw()
    box = figure._suptitle.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= figure.bbox.width


def test_every_student_of_the_verdicts_is_listed_once_with_its_cost(tmp_path: Path) -> None:
    """A run judged in two comparisons (CTCA against two baselines) is one row, the mean of its own seeds."""
    reporting = tmp_path / "08_reporting"
    reporting.mkdir()
    method = [_metrics(30, t) for t in (20.0, 22.0, 24.0)]
    baselines = [_metrics(40, t) for t in (30.0, 32.0, 34.0, 40.0, 41.0, 42.0)]
    table = seeds_report(*method, *baselines[:3], *method, *baselines[3:], seeds=SEEDS, title="CTCA over seeds",
                         comparisons=[("ctca", "student_res"), ("ctca", "ctca_sdpn")])[0]
    table.to_csv(reporting / "ctca_seeds.csv", index=False)
    for run, gmacs in (("ctca", 1.2), ("student_res", 1.2), ("ctca_sdpn", 0.9)):
        pd.DataFrame([{"frames": 200, "params_m": 2.0, "gmacs": gmacs, "latency_s": 0.02}]).to_csv(
            reporting / f"{run}_seed0_efficiency.csv", index=False)
    write_results(reporting, tmp_path / "docs" / "results.md")
    students = pd.read_csv(reporting / "students_pareto_seeds.csv").set_index("run")
    assert students.seeds.to_dict() == {"ctca_sdpn": 3, "ctca": 3, "student_res": 3}
    assert students.test_wer.to_dict() == {"ctca_sdpn": 41.0, "ctca": 22.0, "student_res": 32.0}
    assert students.pareto.to_dict() == {"ctca_sdpn": True, "ctca": True, "student_res": False}
    text = (tmp_path / "docs" / "results.md").read_text()
    assert "| CTCA | 3 | 22.0 +- 2.0 | 1.200 |" in text
    assert (tmp_path / "docs" / "img" / "students_pareto_seeds.png").exists()


def test_sections_whose_files_are_not_found_stay_as_the_page_had_them(tmp_path: Path) -> None:
    """Regenerating from one method's verdict replaces that method's section and rows, and keeps every other
    section of the page (another machine's verdicts, the students section that lists them all) as it was."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    _report()[0].to_csv(first / "crkd_seeds.csv", index=False)
    baseline = [_metrics(30, t) for t in (20.0, 21.0, 25.0)]

    def smkd(*wers: float) -> pd.DataFrame:
        return seeds_report(*[_metrics(20, t) for t in wers], *baseline, comparisons=[("smkd", "student_res")],
                            seeds=SEEDS, title="SMKD over seeds")[0]

    smkd(10.0, 11.0, 12.0).to_csv(first / "smkd_seeds.csv", index=False)
    page, readme = tmp_path / "results.md", tmp_path / "README.md"
    readme.write_text(f"{START}\n{END}\n")
    before = write_results(first, page, readme)

    smkd(9.0, 11.0, 12.0).to_csv(second / "smkd_seeds.csv", index=False)  # measured again elsewhere
    after = write_results(second, page, readme)
    sections, old = page_sections(after), page_sections(before)
    assert sections["## CRKD over seeds"] == old["## CRKD over seeds"]
    assert sections["## SMKD over seeds"] != old["## SMKD over seeds"]
    assert "| SMKD | smkd vs student_res | 3 | 10.7 +- 1.5 |" in after
    assert "| CRKD | crkd_distilled vs crkd_scratch | 3 | 32.2 +- 0.6 |" in after and "| CRKD |" in readme.read_text()
    assert "seeds_crkd`" not in "".join(line for line in sections[HEADLINE] if "not measured" in line)
    assert write_results(tmp_path / "empty_does_not_matter", page) == after  # nothing found: the page unchanged


def test_the_page_regenerates_from_the_files_kept_beside_it(tmp_path: Path) -> None:
    """What a page was generated from is copied beside it (``results/``, with where, when and at which commit each
    file was written), so that a clone without the reporting folder generates the same page."""
    reporting = tmp_path / "data" / "08_reporting"
    reporting.mkdir(parents=True)
    _report()[0].to_csv(reporting / "crkd_seeds.csv", index=False)
    for run in ("crkd_distilled", "crkd_scratch"):
        pd.DataFrame([{"frames": 200, "params_m": 0.1, "gmacs": 1.1, "latency_s": 0.05}]).to_csv(
            reporting / f"{run}_seed0_efficiency.csv", index=False)
    page = tmp_path / "docs" / "results.md"
    first = write_results(reporting, page)
    kept = tmp_path / "docs" / "results"
    assert sorted(p.name for p in kept.iterdir()) == [
        "crkd_distilled_seed0_efficiency.csv", "crkd_scratch_seed0_efficiency.csv", "crkd_seeds.csv",
        "provenance.json"]

    for path in reporting.iterdir():
        path.unlink()
    page.unlink()
    again = write_results([], page)
    assert again == first and "`data/08_reporting/crkd_seeds.csv` (per seed" in again
    assert "| LRINet, CRKD | 3 | 32.2 +- 0.6 |" in again  # the students section reads the kept efficiency tables


def test_a_kept_file_found_again_keeps_when_and_where_it_was_written(tmp_path: Path) -> None:
    """The same verdict file in a reporting folder keeps the kept provenance (the checkout may have moved on since
    it trained); a changed one takes the folder's."""
    archive, reporting = tmp_path / "docs" / "results", tmp_path / "08_reporting"
    archive.mkdir(parents=True)
    reporting.mkdir()
    _report()[0].to_csv(archive / "crkd_seeds.csv", index=False)
    (archive / "provenance.json").write_text(json.dumps({"crkd_seeds.csv": {
        "shown": "data/08_reporting/crkd_seeds.csv", "commit": "abc1234", "measured": "2026-01-01 00:00 UTC"}}))
    shutil.copyfile(archive / "crkd_seeds.csv", reporting / "crkd_seeds.csv")
    assert find_reports([reporting], archive=archive)["crkd_seeds.csv"].commit == "abc1234"
    (reporting / "crkd_seeds.csv").write_text((archive / "crkd_seeds.csv").read_text().replace("32.8", "32.9"))
    changed = find_reports([reporting], archive=archive)["crkd_seeds.csv"]
    assert changed.path == reporting / "crkd_seeds.csv" and changed.commit != "abc1234"


def test_the_projects_results_page_is_what_its_kept_files_generate() -> None:
    """docs/results.md is generated, never edited: from docs/results/ (and its own sections whose files are not
    kept there) the command writes the same page, but for the date it was run."""
    import re

    docs = Path(__file__).resolve().parents[2] / "docs"
    page = (docs / "results.md").read_text()
    today = re.search(r"signdistill results` on (\d{4}-\d\d-\d\d)", page).group(1)
    assert results_markdown(find_reports([], archive=docs / "results"), today, previous=page) == page


def test_many_comparisons_wrap_onto_rows_of_three_panels() -> None:
    runs = [f"run{i}" for i in range(5)]
    comparisons = [(runs[0], other) for other in runs[1:]]
    metrics = [_metrics(30, t) for _ in range(2 * len(comparisons)) for t in (20.0, 21.0, 22.0)]
    figure = seeds_report(*metrics, comparisons=comparisons, seeds=SEEDS, title="four comparisons")[1]
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert len(panels) == 4 and len(figure.axes) == 6  # two rows of three, the last two left empty
    assert len({round(ax.get_position().y0, 3) for ax in panels}) == 2
    assert figure.get_figwidth() < 4.2 * 4


def test_a_comparison_left_out_is_listed_as_not_judged(tmp_path: Path) -> None:
    method = [_metrics(30, t) for t in (32.0, 32.8, 31.7)]
    baseline = [_metrics(40, t) for t in (39.4, 37.8, 34.0)]
    table, figure, metrics = seeds_report(*method, *baseline, comparisons=[("ctca", "ctca_sdpn")], seeds=SEEDS,
                                          title="CTCA over seeds", left_out=[("ctca_best", "ctca_sdpn_best")])
    assert table.row.tolist()[-1] == "left out" and len(figure.axes) == 1
    assert not any(key.startswith("ctca_best") for key in metrics)
    reporting = tmp_path / "08_reporting"
    reporting.mkdir()
    table.to_csv(reporting / "ctca_seeds.csv", index=False)
    text = results_markdown(find_reports([reporting]), "2026-01-01")
    assert "| ctca_best vs ctca_sdpn_best | 0 |  |  |  |  |  | not judged (seeds_left_out) |" in text
    assert "| CTCA | ctca vs ctca_sdpn | 3 | 32.2 +- 0.6 |" in text and "| CTCA | ctca_best" not in text


def test_students_of_a_verdict_not_at_hand_keep_their_rows_and_the_front_is_drawn_over_all(tmp_path: Path) -> None:
    """Regenerating from one method's verdict replaces that method's students and keeps every other student of
    the page (trained elsewhere, with its commit), so the table never mixes an old verdict with a new one."""
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, wers in ((first, (10.0, 11.0, 12.0)), (second, (30.0, 31.0, 32.0))):
        folder.mkdir()
        seeds_report(*[_metrics(20, t) for t in wers], *[_metrics(30, t) for t in (40.0, 41.0, 42.0)],
                     comparisons=[("smkd", "student_res")], seeds=SEEDS, title="SMKD")[0].to_csv(
            folder / "smkd_seeds.csv", index=False)
        for run in ("smkd", "student_res"):
            pd.DataFrame([{"frames": 200, "params_m": 2.0, "gmacs": 1.2, "latency_s": 0.02}]).to_csv(
                folder / f"{run}_seed0_efficiency.csv", index=False)
    _report()[0].to_csv(first / "crkd_seeds.csv", index=False)
    for run in ("crkd_distilled", "crkd_scratch"):
        pd.DataFrame([{"frames": 200, "params_m": 0.1, "gmacs": 1.1, "latency_s": 0.05}]).to_csv(
            first / f"{run}_seed0_efficiency.csv", index=False)
    page = tmp_path / "docs" / "results.md"
    write_results(first, page)
    shutil.rmtree(page.parent / "results")  # the first folder's files are found no more
    text = write_results(second, page)
    students = pd.read_csv(second / "students_pareto_seeds.csv").set_index("run")
    assert students.test_wer.round(1).to_dict() == {"crkd_distilled": 32.2, "crkd_scratch": 37.1, "smkd": 31.0,
                                                    "student_res": 41.0}
    assert students.pareto.to_dict() == {"crkd_distilled": True, "crkd_scratch": False, "smkd": True,
                                         "student_res": False}  # SMKD's new mean no longer dominates LRINet's
    assert "| LRINet, CRKD | 3 | 32.2 +- 0.6 | 1.100 | 0.10 | 50.0 | yes |" in text
    assert "| SMKD | 3 | 31.0 +- 1.0 | 1.200 |" in text and "11.0 +- 1.0" not in text
    assert write_results(second, page) == text  # the kept rows read back as they were written


def test_a_main_report_shows_its_figure_once_kept_beside_the_page(tmp_path: Path) -> None:
    """The one-seed ``students_pareto`` is a main report: its table, and its chart linked from the kept folder."""
    reporting = tmp_path / "data" / "08_reporting"
    reporting.mkdir(parents=True)
    pd.DataFrame([{"run": "crkd_distilled", "label": "LRINet, CRKD", "test_wer": 21.0, "gmacs": 0.2,
                   "pareto": True}]).to_csv(reporting / "students_pareto.csv", index=False)
    (reporting / "students_pareto.png").write_bytes(b"\x89PNG")
    page = tmp_path / "docs" / "results.md"
    text = write_results(reporting, page)
    section = page_sections(text)["### students_pareto"]
    assert "`uv run kedro run --pipelines students_pareto`; `data/08_reporting/students_pareto.csv`" in section[1]
    assert "| crkd_distilled | LRINet, CRKD | 21.0 | 0.200 | True |" in section
    assert "![students_pareto](results/students_pareto.png)" in section
    assert (tmp_path / "docs" / "results" / "students_pareto.png").read_bytes() == b"\x89PNG"


def test_a_page_of_another_name_links_the_figures_kept_under_its_own_name(tmp_path: Path) -> None:
    """``signdistill results --out other.md`` keeps its files in ``other/`` and links them there."""
    reporting = tmp_path / "data" / "08_reporting"
    reporting.mkdir(parents=True)
    pd.DataFrame([{"run": "smkd", "test_wer": 20.0, "gmacs": 1.2}]).to_csv(reporting / "students_pareto.csv",
                                                                          index=False)
    (reporting / "students_pareto.png").write_bytes(b"\x89PNG")
    text = write_results(reporting, tmp_path / "docs" / "ablations.md")
    assert "![students_pareto](ablations/students_pareto.png)" in page_sections(text)["### students_pareto"]
    assert "[ablations/](ablations/)" in text
    assert (tmp_path / "docs" / "ablations" / "students_pareto.png").exists()
