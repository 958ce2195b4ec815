"""``docs/results.md``, generated: every seed verdict (``<method>_seeds.csv``) and main report
(``<name>_report.csv``) found under the reporting folders, each with the command that reproduces it and the commit
of the checkout that trained it.

Measured numbers live in that generated file (and in the README's headline block, which the same command
rewrites between its markers), never in prose, so that they cannot drift from the runs that produced them.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from signdistill.data.atomic import atomic_write
from signdistill.metrics.verdict import format_p
from signdistill.reporting.pareto import STUDENT_LABELS, pareto_front, plot_pareto, seed_students_table
from signdistill.reporting.seeds import LEFT_OUT

METHODS = {"signkd": "SignKD", "crkd": "CRKD", "smkd": "SMKD", "ctca": "CTCA", "combined": "Combined"}
REPORTS = {"signkd_report": "distill_signkd", "crkd_report": "distill_crkd", "smkd_report": "smkd",
           "ctca_report": "ctca", "combined_report": "distill_combined", "students_pareto": "students_pareto"}
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _num(value: object, digits: int = 1) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "-" if math.isnan(number) else f"{number:.{digits}f}"


def verdict_lines(table: pd.DataFrame) -> list[dict[str, str]]:
    """One summary per comparison of a ``<method>_seeds.csv``: runs, seeds, mean +- std test WER of both, the
    difference with its 95% interval, the p-values and the verdict."""
    out = []
    for name, rows in table.groupby("comparison", sort=False):
        if (rows["row"] == LEFT_OUT).any():
            out.append({"comparison": str(name), "seeds": "0", "verdict": str(rows["verdict"].iloc[0])})
            continue
        seeds = rows[rows["row"].astype(str).str.startswith("seed ")]
        mean, std = rows[rows["row"] == "mean"].iloc[0], rows[rows["row"] == "std"].iloc[0]
        verdict = rows[rows["row"].astype(str).str.startswith("verdict")].iloc[0]
        out.append({"comparison": str(name), "seeds": str(len(seeds)),
                    "method_wer": f"{_num(mean.method_test_wer)} +- {_num(std.method_test_wer)}",
                    "baseline_wer": f"{_num(mean.baseline_test_wer)} +- {_num(std.baseline_test_wer)}",
                    "difference": f"{_num(verdict.difference)} [{_num(verdict.ci95_low)}, {_num(verdict.ci95_high)}]",
                    "welch_p": format_p(verdict.welch_p), "mann_whitney_p": format_p(verdict.mann_whitney_p),
                    "verdict": str(verdict.verdict)})
    return out


def markdown_table(rows: list[dict[str, str]], columns: dict[str, str]) -> list[str]:
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(k, "")) for k in columns) + " |" for row in rows]
    return lines


BASELINES_LEGEND = (
    "Which baseline each row is: `<method>_scratch` is the method's own student trained without distillation at "
    "the same budget; `student_res` the baseline network at the student's resolution at the methods' budget; "
    "`student_res_best` the same network at its own best recipe (twice the epochs, half the learning rate: "
    "[baseline.md](methods/baseline.md)); `ctca_sdpn` CTCA's network without its distillation losses; "
    "`crkd_scratch_best` and `ctca_sdpn_best` the methods' own networks without their losses at their best recipes, "
    "and `smkd_best`, `ctca_best`, `ctca_d_best` the methods trained at those recipes; "
    "`signkd_distilled` and `crkd_distilled` the other methods' distilled students, for the combined student; "
    "`combined_distilled_large` the combined student given more of LRINet's cost (twice the channels on the "
    "embedded corpus), still under it.")

VERDICT_COLUMNS = {"comparison": "method vs baseline", "seeds": "seeds", "method_wer": "method test WER",
                   "baseline_wer": "baseline test WER", "difference": "difference [two-sided 95% CI]",
                   "welch_p": "Welch p (one-sided)", "mann_whitney_p": "Mann-Whitney p", "verdict": "verdict"}


def _measured_on(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Report:
    """One report file, named as the checkout that wrote it names it (``shown``), with that checkout's commit and
    when it was written (``when``)."""

    path: Path
    shown: Path
    commit: str
    when: str

    def measured(self) -> str:
        return f"measured {self.when} at commit `{self.commit}`"


PROVENANCE = "provenance.json"


def find_reports(folders: list[Path], archive: Path | None = None) -> dict[str, Report]:
    """Every seed verdict and main report in the ``archive`` (``archive_reports``) and under ``folders``, by file
    name; a later folder's file replaces an earlier one's (e.g. the verdicts of one checkout over those of another),
    and any folder's the archive's, unless it is the same file: that keeps when and where it was first written
    (a checkout's commit now need not be the one that trained it)."""
    kept = archived_reports(archive) if archive is not None else {}
    found = dict(kept)
    names = [f"{method}_seeds.csv" for method in METHODS] + [f"{name}.csv" for name in REPORTS]
    for folder in folders:
        root, shown = reports_checkout(folder)
        commit = git_commit(root)
        for name in (n for n in names if (folder / n).exists()):
            same = name in kept and filecmp.cmp(folder / name, kept[name].path, shallow=False)
            found[name] = kept[name] if same else Report(folder / name, shown / name, commit,
                                                         _measured_on(folder / name))
    return found


def archived_reports(archive: Path) -> dict[str, Report]:
    """The reports kept in ``archive`` with where, when and at which commit they were first written."""
    index = archive / PROVENANCE
    known = json.loads(index.read_text()) if index.exists() else {}
    return {name: Report(archive / name, Path(entry["shown"]), entry["commit"], entry["measured"])
            for name, entry in known.items() if (archive / name).exists()}


def report_files(name: str, report: Report) -> list[Path]:
    """What the page reads of a report: the table, its figure and, for a seed verdict, the efficiency table of the
    first seed of each of its runs (``seed_students``)."""
    files = [report.path, report.path.with_suffix(".png")]
    if name.endswith("_seeds.csv"):
        table = pd.read_csv(report.path)
        runs = pd.unique(pd.concat([table["method"], table["baseline"]]).dropna().astype(str))
        files += [found[0] for run in runs if (found := sorted(report.path.parent.glob(f"{run}_seed*_efficiency.csv")))]
    return [f for f in files if f.exists()]


def kept_folder(page: Path) -> Path:
    """Where the files a results page is generated from are kept: beside it, under its name (docs/results/)."""
    return page.with_suffix("")


def archive_reports(reports: dict[str, Report], archive: Path) -> dict[str, Report]:
    """Copy every report not yet in ``archive`` there (``report_files``) with its provenance, so that the page can
    be generated again from the repository alone; returns the reports as archived."""
    new = {name: report for name, report in reports.items() if report.path.parent.resolve() != archive.resolve()}
    if not new:
        return reports
    index = archive / PROVENANCE
    known = json.loads(index.read_text()) if index.exists() else {}
    archive.mkdir(parents=True, exist_ok=True)
    for name, report in new.items():
        for source in report_files(name, report):
            atomic_write(archive / source.name, lambda tmp, source=source: shutil.copyfile(source, tmp))
        known[name] = {"shown": str(report.shown), "commit": report.commit, "measured": report.when}
    atomic_write(index, lambda tmp: tmp.write_text(json.dumps(dict(sorted(known.items())), indent=1) + "\n"))
    return {**reports, **archived_reports(archive)}


def headline(reports: dict[str, Report], first_only: bool = False, previous: dict[str, list[str]] | None = None
             ) -> list[str]:
    """The headline table: every method's verdicts (``first_only``: its first comparison, the method against its
    baseline, as the README shows it); a method without a verdict file keeps its rows of the ``previous`` page
    (``page_sections``), else says how to measure it."""
    columns = {"method": "method", **VERDICT_COLUMNS}
    kept = (previous or {}).get(HEADLINE, [])
    lines = markdown_table([], columns)
    for method, label in METHODS.items():
        report = reports.get(f"{method}_seeds.csv")
        if report is not None:
            rows = [{"method": label, **line} for line in verdict_lines(pd.read_csv(report.path))
                    if line["seeds"] != "0"]  # a comparison left out is listed in the method's own section
            lines += markdown_table(rows[:1] if first_only else rows, columns)[2:]
        elif old := [line for line in kept if line.startswith(f"| {label} |")]:
            lines += old[:1] if first_only else old
        else:
            lines += markdown_table([{"method": label, "comparison": "not measured yet",
                                      "verdict": f"`uv run kedro run --pipelines seeds_{method}`"}], columns)[2:]
    return lines


HEADLINE, STUDENTS, MAIN = ("## Headline: each method against its baseline", "## Every student over seeds",
                            "## Main pipelines (one seed each)")


def page_sections(text: str) -> dict[str, list[str]]:
    """A generated page's blocks by heading line (``## SMKD over seeds``, ``### smkd_report``): the lines after the
    heading up to the next one, without trailing blank lines."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(("## ", "### ")):
            current = line
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    for lines in sections.values():
        while lines and not lines[-1].strip():
            lines.pop()
    return sections


def _kept(previous: dict[str, list[str]], heading: str) -> list[str]:
    return [heading, *previous[heading], ""] if heading in previous else []


def seed_students(reports: dict[str, Report], previous: list[str] | None = None) -> pd.DataFrame | None:
    """Every run of the seed verdicts, once: its seeds' mean and std test WER, its cost (the efficiency table of
    its first seed, beside the verdict file) and the commit that trained it (``seed_students_table``); a run whose
    verdict file is not at hand keeps its row of the ``previous`` page's students section (``kept_students``), so
    that every row is its method's latest verdict and the front is drawn over all of them."""
    wers, costs, commits = {}, {}, {}
    for method in METHODS:
        report = reports.get(f"{method}_seeds.csv")
        if report is None:
            continue
        table = pd.read_csv(report.path)
        seeds = table[table["row"].astype(str).str.startswith("seed ")]
        for side in ("method", "baseline"):
            for run, rows in seeds.groupby(side, sort=False):
                efficiency = sorted(report.path.parent.glob(f"{run}_seed*_efficiency.csv"))
                if run in wers or not efficiency:
                    continue
                once = rows.drop_duplicates("row")  # a run judged against two baselines is listed twice
                wers[run], costs[run] = once[f"{side}_test_wer"].astype(float).tolist(), pd.read_csv(efficiency[0])
                commits[run] = report.commit
    if not wers:
        return None
    table = seed_students_table(wers, costs)
    table["commit"] = table.run.map(commits)
    old = kept_students(previous or [], int(table.frames.iloc[0]))
    table = pd.concat([table, old[~old.run.isin(table.run)]], ignore_index=True)
    table = table.sort_values("gmacs", kind="stable").reset_index(drop=True)
    table["pareto"] = pareto_front(table.gmacs, table.test_wer)
    return table


def kept_students(lines: list[str], frames: int) -> pd.DataFrame:
    """The rows of a previous page's students section (``_students_section``) as ``seed_students`` rows."""
    runs = {label: run for run, label in STUDENT_LABELS.items()}
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != len(STUDENT_COLUMNS) or not cells[1].isdigit():
            continue  # the header, its rule, the prose
        label, seeds, wer, gmacs, params_m, latency_ms, _, commit = cells
        mean, _, std = wer.partition(" +- ")
        rows.append({"run": runs.get(label, label), "label": label, "seeds": int(seeds), "test_wer": float(mean),
                     "test_wer_std": float("nan") if std in ("", "-") else float(std), "params_m": float(params_m),
                     "gmacs": float(gmacs), "frames": frames, "latency_s": float(latency_ms) / 1000,
                     "commit": commit.strip("`")})
    return pd.DataFrame(rows, columns=["run", "label", "seeds", "test_wer", "test_wer_std", "params_m", "gmacs",
                                       "frames", "latency_s", "commit"])


STUDENT_COLUMNS = {"label": "student", "seeds": "seeds", "wer": "test WER (mean +- std)", "gmacs": "GMACs",
                   "params_m": "parameters (M)", "latency_ms": "network latency (ms)", "pareto": "Pareto front",
                   "commit": "commit"}
PARETO_IMAGE = "img/students_pareto_seeds.png"
PARETO_TITLE = "Every student over seeds: mean test WER (bars: std) against inference cost (red: the Pareto front)"


def _students_section(table: pd.DataFrame) -> list[str]:
    rows = [{"label": r.label, "seeds": str(r.seeds), "wer": f"{_num(r.test_wer)} +- {_num(r.test_wer_std)}",
             "gmacs": _num(r.gmacs, 3), "params_m": _num(r.params_m, 2), "latency_ms": _num(1000 * r.latency_s),
             "pareto": "yes" if r.pareto else "", "commit": f"`{r.commit}`"} for r in table.itertuples()]
    frames = int(table.frames.iloc[0])
    return [STUDENTS, "", f"Each run of the verdicts above once, cheapest first: the mean and std "
            f"of its seeds' test WER, its inference GMACs and network latency per {frames}-frame clip (CPU, one "
            "thread), and whether its mean is on the Pareto front. The latency is timed at the run's evaluation, "
            "beside whatever else the machine ran then, so GMACs are the cost to compare (`signdistill profile "
            "MODEL` times one network on an idle machine). `data/08_reporting/students_pareto_seeds.csv`.",
            "", *markdown_table(rows, STUDENT_COLUMNS), "", f"![Every student over seeds]({PARETO_IMAGE})", ""]


COST_DIGITS = {"params_m": 2, "gmacs": 3, "latency_s": 3, "e2e_latency_s": 3}  # small models differ below 0.1


def _report_section(name: str, report: Report, pipeline: str, kept: str) -> list[str]:
    table = pd.read_csv(report.path)
    keep = [c for c in table.columns if not str(c).startswith("Unnamed")]
    rows = [{c: _num(r[c], COST_DIGITS.get(c, 1)) if isinstance(r[c], float) else str(r[c]) for c in keep}
            for _, r in table.iterrows()]
    figure = report.path.with_suffix(".png")
    shown = [f"![{name}]({kept}/{figure.name})", ""] if report.path.parent.name == kept and figure.exists() else []
    return [f"### {name}", "", f"`uv run kedro run --pipelines {pipeline}`; `{report.shown}`, {report.measured()}.",
            "", *markdown_table(rows, {c: str(c) for c in keep}), "", *shown]


def reports_checkout(reporting: Path) -> tuple[Path, Path]:
    """The project checkout whose runs wrote ``reporting`` (``<checkout>/data/08_reporting``; else the current
    one) and ``reporting`` as that checkout names it: the commit and path a reader reruns."""
    resolved = reporting.resolve()
    if resolved.parts[-2:] == ("data", "08_reporting"):
        return resolved.parents[1], Path("data/08_reporting")
    return Path(), reporting


def results_markdown(reports: dict[str, Report], today: str, students: pd.DataFrame | None = None,
                     previous: str = "", folder: str = "results") -> str:
    """The whole of ``docs/results.md`` from ``reports`` (``find_reports``); ``students``: their
    ``seed_students``, when the caller has it already; ``folder``: the folder beside the page whose files it links
    (``kept_folder``). A method or main report whose file is not among ``reports`` keeps its section of the
    ``previous`` page, as generated then (its date and commit say when and where)."""
    kept = page_sections(previous)
    lines = ["# Results", "", f"Generated by `uv run signdistill results` on {today}; do not edit by hand. Each "
             "section names the file it was read from and the commit of the checkout that trained it; those files "
             f"are kept in [{folder}/]({folder}/), from which the command generates this page again, and a section "
             "whose file is found nowhere stays as it was. Test WER in %, lower is "
             "better. A method *beats* its baseline when a one-sided Welch t-test on the seeds' test WER rejects "
             "\"not better\" at alpha 0.05; the Mann-Whitney U p-value is given beside it.", "",
             BASELINES_LEGEND, "", HEADLINE, "", *headline(reports, previous=kept), ""]
    for method, label in METHODS.items():
        report = reports.get(f"{method}_seeds.csv")
        if report is None:
            lines += _kept(kept, f"## {label} over seeds")
            continue
        lines += [f"## {label} over seeds", "", f"`uv run kedro run --pipelines seeds_{method}`; `{report.shown}` "
                  f"(per seed: dev and test WER of both runs), `{report.shown.with_suffix('.png')}`, "
                  f"{report.measured()}.", "", *markdown_table(verdict_lines(pd.read_csv(report.path)),
                                                               VERDICT_COLUMNS), ""]
    if (students := seed_students(reports, kept.get(STUDENTS)) if students is None else students) is not None:
        lines += _students_section(students)
    else:
        lines += _kept(kept, STUDENTS)
    sections = [_report_section(name, reports[f"{name}.csv"], pipe, folder) if f"{name}.csv" in reports
                else _kept(kept, f"### {name}") for name, pipe in REPORTS.items()]
    if any(sections):
        lines += [MAIN, "", *(line for section in sections for line in section)]
    return "\n".join(lines).rstrip() + "\n"


def git_commit(root: Path = Path()) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def replace_block(text: str, block: list[str]) -> str:
    """``text`` with the lines between its results markers replaced by ``block``; unchanged without markers."""
    if START not in text or END not in text:
        return text
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + START + "\n" + "\n".join(block) + "\n" + END + tail


def write_results(reporting: Path | list[Path], out: Path, readme: Path | None = None) -> str:
    """Write ``out`` (docs/results.md) from one or more reporting folders and the files kept beside it
    (``docs/results/``: ``find_reports``, ``archive_reports``), keeping the sections of the page already there whose
    files are found in neither (``results_markdown``), and, when given, rewrite the README's headline block; returns
    the markdown."""
    folders = reporting if isinstance(reporting, list) else [reporting]
    reports = archive_reports(find_reports(folders, archive=kept_folder(out)), kept_folder(out))
    previous = out.read_text() if out.exists() else ""
    kept = page_sections(previous)
    students = seed_students(reports, kept.get(STUDENTS))
    text = results_markdown(reports, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"), students, previous,
                            kept_folder(out).name)
    atomic_write(out, lambda tmp: tmp.write_text(text))
    if students is not None:
        write_students_pareto(students, out.parent / PARETO_IMAGE, folders[0] if folders else None)
    if readme is not None and readme.exists():
        updated = replace_block(readme.read_text(), headline(reports, first_only=True, previous=kept))
        atomic_write(readme, lambda tmp: tmp.write_text(updated))
    return text


def write_students_pareto(table: pd.DataFrame, image: Path, reporting: Path | None) -> None:
    """The seed students' chart (``seed_students``) at ``image`` (next to the results page) and, with their table,
    in ``reporting`` when there is one."""
    figure = plot_pareto(table, PARETO_TITLE)
    for path in (image, *([reporting / "students_pareto_seeds.png"] if reporting else [])):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    if reporting is not None:
        atomic_write(reporting / "students_pareto_seeds.csv", lambda tmp: table.to_csv(tmp, index=False))
    plt.close(figure)
