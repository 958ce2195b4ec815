"""The scaling benchmark's arithmetic: k of cost ~ N^k, the fit per stage, and the estimates it renders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from signdistill.benchmarks._scaling_estimate import (
    BEGIN,
    END,
    cost_source,
    parallel_efficiency,
    per_frame,
    render_estimates,
    write_doc_section,
)
from signdistill.benchmarks._scaling_stages import _train_params, settings, split_sizes, stages_to_run
from signdistill.benchmarks.scaling import exponent, fit, measure


def _result(per_video_seconds: float, power: float) -> dict:
    sizes = [10, 20, 40]
    runs = [{"videos": n, "frames": 100 * n, "longest_train_clip": 150 + n,
             "stages": {stage: {"seconds": per_video_seconds * n ** power, "disk_bytes": 1000 * n,
                                "peak_rss_bytes": 2**30} for stage in ("frames", "tvl1", "mediapipe")}}
            for n in sizes]
    return {"settings": "paper", "cpus": 2, "workers": 2, "frame_size": [210, 260], "sizes": sizes, "runs": runs,
            "fit": fit(runs, ["frames", "tvl1", "mediapipe"]), "load_before": 0.1,
            "executors": {"videos": 40, "processes": {"frames": 1.0, "tvl1": 9.0},
                          "dask_1_worker": {"frames": 2.0, "tvl1": 14.0},
                          "dask_2_workers": {"frames": 1.0, "tvl1": 9.0},
                          "dask_speedup_2_vs_1": 1.6},
            "stage_settings": {"preprocess": {"resolutions": {"teacher": 256, "flow": 128}},
                               "features": {"flow_size": 128, "keypoint_stride": 1}}}


def test_exponent_of_linear_and_quadratic_costs() -> None:
    assert exponent([10, 20, 40], [1.0, 2.0, 4.0]) == pytest.approx(1.0)
    assert exponent([10, 20, 40], [1.0, 4.0, 16.0]) == pytest.approx(2.0)
    assert exponent([10], [1.0]) is None


def test_fit_reports_k_and_memory_growth_per_stage() -> None:
    fitted = fit(_result(0.5, 1.2)["runs"], ["frames", "tvl1"])
    assert fitted["tvl1"]["k_seconds"] == pytest.approx(1.2)
    assert fitted["frames"]["k_bytes"] == pytest.approx(1.0)
    assert fitted["frames"]["rss_largest_over_smallest"] == 1.0


def test_estimates_scale_per_frame_costs_and_replace_the_doc_section(tmp_path: Path) -> None:
    text = render_estimates([_result(0.5, 1.0)], ["measured.json"])
    # 0.5 s per video of 100 frames on 2 workers at efficiency 0.8: 8 ms per frame for one worker;
    # PHOENIX-2014's 800,000 frames on 2 cores: 800000 * 0.008 / (2 * 0.8) / 3600 hours
    row = next(line for line in text.splitlines() if line.startswith("| PHOENIX-2014 | 800,000 | tvl1 |"))
    assert row.split(" | ")[3] == f"{800000 * 0.008 / 1.6 / 3600:,.1f}"
    assert "unmeasured" in text
    # the measured growth: seconds at every size, k of time and bytes, and memory at every size and its growth
    assert "| tvl1 | 5.0 | 10.0 | 20.0 | 1.00 | 1.00 | 1,024 / 1,024 / 1,024 (1.00) |" in text
    assert "process pool 10.0 s, Dask with 1 worker 16.0 s, with 2 workers 10.0 s" in text
    assert "load average 0.1 before measuring" in text
    assert "Longest training clip per size (frames): 160 / 170 / 190." in text
    assert "glibc malloc" not in text
    tuned = render_estimates([{**_result(0.5, 1.0), "allocator": {"MALLOC_MMAP_THRESHOLD_": "1048576"}}], ["m.json"])
    assert "glibc malloc with `MALLOC_MMAP_THRESHOLD_=1048576`" in tuned
    doc = tmp_path / "scaling.md"
    doc.write_text(f"intro\n\n{BEGIN}\nstale section\n{END}\n\nafter\n")
    write_doc_section(doc, text)
    written = doc.read_text()
    assert "stale section" not in written and written.startswith("intro") and written.endswith("after\n")
    assert written.count(BEGIN) == 1


def test_held_out_splits_are_a_tenth_each() -> None:
    assert split_sizes(40) == {"train": 32, "dev": 4, "test": 4}
    assert split_sizes(3) == {"train": 1, "dev": 1, "test": 1}


@pytest.mark.parametrize("setting", ["base", "paper"])
def test_the_training_stage_reads_a_store_size_the_settings_build(setting: str) -> None:
    conf = Path(__file__).resolve().parents[2] / "conf"
    stage_settings = settings(conf, setting)
    params = _train_params({"conf": str(conf), "settings": stage_settings})
    student = stage_settings["preprocess"]["resolutions"]["student"]
    assert params["store_size"] == student and params["train"]["epochs"] == 1
    assert 0 < params["crop"] <= student


def test_one_workers_time_is_one_workers_cost() -> None:
    """Parallel efficiency discounts only what several workers did together."""
    two, one = _result(0.5, 1.0), {**_result(0.5, 1.0), "workers": 1}
    assert per_frame(two, 0.8)["tvl1"]["seconds"] == pytest.approx(0.5 * 40 * 2 * 0.8 / 4000)
    assert per_frame(one, 0.8)["tvl1"]["seconds"] == pytest.approx(0.5 * 40 / 4000)


def test_the_estimates_scale_the_fullest_paper_run_at_the_efficiency_measured_beside_it() -> None:
    sweep = {**_result(0.5, 1.0), "workers": 1}
    del sweep["executors"]
    compared = _result(0.5, 1.0)
    compared["runs"] = [{**compared["runs"][-1], "stages": {"frames": compared["runs"][-1]["stages"]["frames"]}}]
    base = {**_result(0.5, 1.0), "settings": "base", "executors": {"dask_speedup_2_vs_1": 2.0}}
    assert cost_source([base, compared, sweep]) is sweep
    assert parallel_efficiency([base, compared, sweep], sweep) == pytest.approx(0.8)
    assert parallel_efficiency([sweep], sweep) == 1.0


def test_a_sweep_runs_only_the_stages_that_the_asked_ones_read() -> None:
    assert stages_to_run(["train_epoch"]) == ["synth", "index", "frames", "train_epoch"]
    assert stages_to_run(["evaluation", "synth"]) == ["synth", "index", "frames", "train_epoch", "evaluation"]
    assert stages_to_run(["mediapipe"]) == ["synth", "index", "frames", "tvl1", "mediapipe"]


def test_the_malloc_comparison_trains_each_setting_in_its_own_process(tmp_path: Path, monkeypatch) -> None:
    """Real stages on a four-video corpus: the sweep runs only what the training epoch reads, and the comparison's
    epochs run interleaved, each child under its own malloc setting, with the caller's environment restored."""
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    result = measure([4], (105, 130), ["train_epoch"], "base", Path("conf"), {"kind": "processes"}, 1,
                     compare_malloc=True)
    assert list(result["runs"][0]["stages"]) == ["train_epoch"]
    assert result["runs"][0]["longest_train_clip"] > 0
    seen = {name: [run["allocator"] for run in runs] for name, runs in result["allocators"].items() if name != "videos"}
    assert seen == {"glibc_default": [{}, {}], "mmap_threshold_1MiB": [{"MALLOC_MMAP_THRESHOLD_": "1048576"}] * 2}
    assert all(run["seconds"] > 0 for runs in result["allocators"].values() if isinstance(runs, list) for run in runs)
    assert "MALLOC_MMAP_THRESHOLD_" not in os.environ
