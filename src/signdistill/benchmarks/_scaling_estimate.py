"""Hours and disk of real corpora from the scaling benchmark's measurements (``signdistill bench scaling
--estimate FILE``), rendered as the generated section of docs/scaling.md.

The per-video stages cost per frame what the largest measured corpus cost per frame (the benchmark shows that
cost grows linearly). One worker's cost per frame is the measured stage time times the workers that ran it times
their parallel efficiency, the efficiency being the measured speed-up of two Dask workers over one, halved; C
cores or W cluster workers are assumed to keep that efficiency. Disk grows with frames at the measured bytes per
frame (caches and packed stores together).
"""

from __future__ import annotations

from pathlib import Path

from signdistill.data.atomic import atomic_write

# Corpus facts (published sizes); CSL-Daily's frame count is taken at PHOENIX-2014-T's mean frames per video,
# and the 1,000-hour corpus at 25 fps.
CORPORA = [
    ("PHOENIX-2014", 6841, 800_000),
    ("PHOENIX-2014-T", 8257, 948_000),
    ("CSL-Daily", 20654, round(20654 * 948_000 / 8257)),
    ("1,000 hours at 25 fps", None, 1000 * 3600 * 25),
]
DATA_STAGES = ("frames", "tvl1", "mediapipe")
# The executors that ``bench scaling --compare-executors`` times, by the names its results carry
EXECUTOR_VARIANTS = {"processes": {"kind": "processes"}, "dask_1_worker": {"kind": "dask", "workers": 1},
                     "dask_2_workers": {"kind": "dask", "workers": 2}}
# glibc malloc as it comes, and with a fixed 1 MiB mmap threshold (docs/scaling.md, "Memory")
ALLOCATOR_VARIANTS = {"glibc_default": {}, "mmap_threshold_1MiB": {"MALLOC_MMAP_THRESHOLD_": "1048576"}}
MACHINES = (("2 cores", 2), ("16 cores", 16), ("Dask, 64 workers", 64), ("Dask, 256 workers", 256))
BEGIN, END = "<!-- scaling-estimates:begin -->", "<!-- scaling-estimates:end -->"


def per_frame(result: dict, efficiency: float = 1.0) -> dict[str, dict[str, float]]:
    """One worker's seconds and the bytes on disk per frame of each data stage, from the largest corpus; the
    time of several workers counts at ``efficiency`` (one worker's time is already one worker's cost)."""
    largest = result["runs"][-1]
    workers = int(result.get("workers") or result.get("cpus") or 1)
    efficiency = efficiency if workers > 1 else 1.0
    out = {}
    for stage in DATA_STAGES:
        if stage not in largest["stages"]:
            continue
        row = largest["stages"][stage]
        out[stage] = {"seconds": row["seconds"] * workers * efficiency / largest["frames"],
                      "bytes": row["disk_bytes"] / largest["frames"]}
    return out


def cost_source(results: list[dict]) -> dict:
    """The run the estimates scale: paper settings first, then the one that measured the most data stages on the
    most frames."""
    def rank(result: dict) -> tuple:
        largest = result["runs"][-1]
        return (result.get("settings") == "paper", sum(s in largest["stages"] for s in DATA_STAGES), largest["frames"])
    return max(results, key=rank)


def parallel_efficiency(results: list[dict], source: dict) -> float:
    """The speed-up of two Dask workers over one, halved, measured with the source's settings where it can be
    (``--compare-executors`` may have run on its own); 1 when nothing measured it."""
    measured = [r for r in results if "executors" in r]
    if not measured:
        return 1.0
    same_settings = [r for r in measured if r["settings"] == source["settings"]]
    best = source if "executors" in source else (same_settings or measured)[0]
    return min(1.0, best["executors"]["dask_speedup_2_vs_1"] / 2)


def _machine(result: dict) -> str:
    load = result.get("load_before")
    busy = "" if load is None else f", load average {load:.1f} before measuring (0 is an idle machine)"
    workers = result.get("workers") or result.get("cpus")
    malloc = ", ".join(f"`{k}={v}`" for k, v in result.get("allocator", {}).items())
    malloc = f", glibc malloc with {malloc}" if malloc else ""
    return f"{workers} local worker{'s' * (workers != 1)} on {result.get('cpus', '?')} cores{busy}{malloc}"


def growth_table(result: dict, name: str) -> list[str]:
    """The measurements of one run as markdown: seconds per stage and corpus size, k of time and of bytes, and
    peak RSS per corpus size with its growth from the smallest to the largest."""
    sizes = [run["videos"] for run in result["runs"]]
    lines = [f"**`{result['settings']}` settings** ({name}: {result['frame_size'][0]}x{result['frame_size'][1]} "
             f"SynthSign frames, {_machine(result)}):", "",
             "| stage | " + " | ".join(f"s, {n} videos" for n in sizes)
             + " | k (time) | k (bytes) | peak RSS MiB per size (largest over smallest) |",
             "|---|" + "---:|" * (len(sizes) + 3)]
    for stage, fitted in result["fit"].items():
        rows = [run["stages"][stage] for run in result["runs"]]
        k = [f"{v:.2f}" if v is not None else "-" for v in (fitted["k_seconds"], fitted["k_bytes"])]
        rss = " / ".join(f"{row['peak_rss_bytes'] / 2**20:,.0f}" for row in rows)
        rss += f" ({fitted['rss_largest_over_smallest']:.2f})"
        lines.append(f"| {stage} | " + " | ".join(f"{row['seconds']:,.1f}" for row in rows)
                     + f" | {k[0]} | {k[1]} | {rss} |")
    longest = [run.get("longest_train_clip") for run in result["runs"]]
    if all(longest):
        lines += ["", f"Longest training clip per size (frames): {' / '.join(f'{n:,}' for n in longest)}."]
    allocators = result.get("allocators")
    if allocators:
        cells = [f"{name} {min(r['seconds'] for r in runs):,.1f} s and "
                 f"{max(r['peak_rss_bytes'] for r in runs) / 2**20:,.0f} MiB"
                 for name, runs in allocators.items() if name in ALLOCATOR_VARIANTS]
        lines += ["", f"One training epoch of the {allocators['videos']}-video corpus under each malloc setting "
                  f"(best time and highest peak RSS of {len(allocators['glibc_default'])} interleaved runs): "
                  + ", ".join(cells) + "."]
    executors = result.get("executors")
    if executors:
        totals = {kind: sum(executors[kind].values()) for kind in EXECUTOR_VARIANTS}
        lines += ["", f"Frame store + TV-L1 of the {executors['videos']}-video corpus from cold caches: process pool "
                  f"{totals['processes']:,.1f} s, Dask with 1 worker {totals['dask_1_worker']:,.1f} s, with 2 workers "
                  f"{totals['dask_2_workers']:,.1f} s (speed-up of 2 workers over 1: "
                  f"{executors['dask_speedup_2_vs_1']:.2f})."]
    return lines + [""]


def render_estimates(results: list[dict], names: list[str]) -> str:
    """The markdown section: the measured growth of every run given, then, from the ``cost_source`` run, hours per
    stage and machine and disk per corpus."""
    result = cost_source(results)
    efficiency = parallel_efficiency(results, result)
    costs = per_frame(result, efficiency)
    features = result["stage_settings"]["features"]
    sizes = sorted({int(v) for v in result["stage_settings"]["preprocess"]["resolutions"].values()})
    lines = [BEGIN, f"Generated by `uv run signdistill bench scaling --estimate {' '.join(names)} --write-doc "
             "docs/scaling.md` from the measurements that `--out` wrote.", ""]
    for measured, name in zip(results, names, strict=True):
        lines += growth_table(measured, name)
    lines += [
        f"**Real corpora**, from the `{result['settings']}` settings (frame store sizes {sizes} px, flow of the "
        f"{features['flow_size']} px store, MediaPipe keypoint stride {features['keypoint_stride']}), per frame of "
        f"its largest corpus ({result['runs'][-1]['videos']} videos / {result['runs'][-1]['frames']} frames, "
        f"{_machine(result)}).",
        "",
        f"Parallel efficiency (Dask, 2 workers over 1, halved): {efficiency:.2f}. "
        "One GPU's TV-L1 throughput (frame pairs per second): unmeasured (no GPU was available; "
        "`signdistill bench flow` measures it on a machine with CUDA).",
        "",
        "| corpus | frames | stage | " + " | ".join(f"hours, {m}" for m, _ in MACHINES) + " | disk GB |",
        "|---|---:|---|" + "---:|" * (len(MACHINES) + 1),
    ]
    for corpus, _, frames in CORPORA:
        for stage, cost in costs.items():
            hours = [frames * cost["seconds"] / (workers * efficiency) / 3600 for _, workers in MACHINES]
            cells = " | ".join(f"{h:,.1f}" if h >= 1 else f"{h:.2f}" for h in hours)
            lines.append(f"| {corpus} | {frames:,} | {stage} | {cells}"
                         + f" | {frames * cost['bytes'] / 1e9:,.1f} |")
    lines += ["", "Per-frame costs (one worker): " + ", ".join(
        f"{stage} {cost['seconds'] * 1e3:.1f} ms and {cost['bytes'] / 1e3:.1f} kB" for stage, cost in costs.items()),
        END]
    return "\n".join(lines)


def write_doc_section(path: Path, section: str) -> None:
    """Replace the text between the section markers of ``path`` (or append the section)."""
    text = Path(path).read_text() if Path(path).exists() else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    atomic_write(Path(path), lambda tmp: tmp.write_text(text))
