"""Speed of the data layer: SynthSign generation, preprocessing, and reads from the packed store.

Each figure is measured in the same run as its reference (timings on a shared machine are noisy): generation on all
cores against one core, preprocessing cold against a warm rerun, and packed-store reads against
decoding the same clips from their image files.

Run: ``uv run signdistill bench data-speed synth|preprocess|loader`` or ``uv run python -m
signdistill.benchmarks.data_speed synth|preprocess|loader [--json]``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer
from torch.utils.data import DataLoader, Dataset

from signdistill.benchmarks._cli import JSON_HELP, benchmark_app, print_payload
from signdistill.data.corpora import read_corpus
from signdistill.data.frames import read_frames
from signdistill.data.store import FrameStore, build_frame_store
from signdistill.paths import DATA
from signdistill.synth.corpus import generate_corpus, get_preset

app = benchmark_app(__doc__)


def bench_synth(videos: int = 24, seed: int = 0) -> dict:
    """Videos/s and frames/s of SynthSign generation (default preset) on all cores and on one core."""
    out: dict = {"videos": videos, "cores": os.cpu_count()}
    for label, workers in (("one_core", 1), ("all_cores", 0)):
        with tempfile.TemporaryDirectory() as tmp:
            preset = get_preset("default", videos={"train": videos, "dev": 0, "test": 0})
            start = time.perf_counter()
            manifest = generate_corpus(Path(tmp), preset, seed, workers=workers, progress=False)
            seconds = time.perf_counter() - start
        out[label] = {"seconds": seconds, "videos_per_s": videos / seconds,
                      "frames_per_s": manifest["frames_written"] / seconds}
    out["speedup_all_vs_one"] = out["all_cores"]["videos_per_s"] / out["one_core"]["videos_per_s"]
    return out


def bench_preprocess(corpus: Path, sizes: tuple[int, ...] = (128, 40)) -> dict:
    """Frames/s of decode + resize + pack on all cores (cold cache), and the time of an unchanged rerun."""
    index = read_corpus(corpus)
    frames = sum(s.num_frames or 0 for s in index.samples)
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for _ in range(2):
            start = time.perf_counter()
            build_frame_store(index.samples, sizes, Path(tmp) / "store", Path(tmp) / "cache", progress=False)
            runs.append(time.perf_counter() - start)
    return {"videos": len(index.samples), "frames": frames, "sizes": list(sizes),
            "cold_seconds": runs[0], "cold_frames_per_s": frames / runs[0],
            "warm_rerun_seconds": runs[1], "rerun_speedup": runs[0] / runs[1]}


class _Clips(Dataset):
    """Random 32-frame clips, from the packed store or decoded from the corpus's image files."""

    def __init__(self, samples, store, size: int, clip: int = 32) -> None:
        self.samples, self.store, self.size, self.clip = samples, store, size, clip

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> torch.Tensor:
        sample = self.samples[i]
        frames = self.store[sample.id] if self.store is not None else read_frames(sample.source, (self.size,) * 2)
        start = (i * 7) % max(len(frames) - self.clip, 1)
        return torch.from_numpy(np.array(frames[start:start + self.clip]))  # a copy, as a training batch is


def _frames_per_s(dataset: Dataset, workers: int) -> float:
    loader = DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers)
    start, count = time.perf_counter(), 0
    for clip in loader:
        count += clip.shape[0]
    return count / (time.perf_counter() - start)


def bench_loader(corpus: Path, store_root: Path, size: int = 128, workers: int = 2) -> dict:
    """DataLoader frames/s from the packed store against decoding the image files, same clips."""
    index = read_corpus(corpus)
    packed = FrameStore(store_root).split(size, "train")
    samples = [s for s in index.split("train") if s.id in packed]
    out = {"videos": len(samples), "size": size, "workers": workers}
    out["packed_frames_per_s"] = _frames_per_s(_Clips(samples, packed, size), workers)
    out["decode_frames_per_s"] = _frames_per_s(_Clips(samples, None, size), workers)
    out["packed_vs_decode"] = out["packed_frames_per_s"] / out["decode_frames_per_s"]
    return out


@app.command("synth")
def synth(videos: Annotated[int, typer.Option(metavar="N", help="Tiny-preset videos to generate per timing.")] = 24,
          as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    """SynthSign generation speed (videos/s) on all cores against one core."""
    result = bench_synth(videos)
    print_payload(result, as_json)
    return result


@app.command("preprocess")
def preprocess(corpus: Annotated[Path, typer.Option(metavar="PATH", help="Corpus root whose videos are decoded and "
                                                                         "packed.")] = DATA.corpus,
               as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    """Decode + resize + pack frames/s (cold) and the time of an unchanged rerun."""
    result = bench_preprocess(corpus)
    print_payload(result, as_json)
    return result


@app.command("loader")
def loader(corpus: Annotated[Path, typer.Option(metavar="PATH", help="Corpus root (the image files to decode).")
                             ] = DATA.corpus,
           store: Annotated[Path, typer.Option(metavar="PATH", help="Packed frame store built from that corpus.")
                            ] = DATA.frame_store,
           size: Annotated[int, typer.Option(metavar="PX", help="Stored frame size to read.")] = 128,
           workers: Annotated[int, typer.Option(metavar="N", help="DataLoader worker processes.")] = 2,
           as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    """DataLoader frames/s from the packed store against decoding the image files."""
    result = bench_loader(corpus, store, size, workers)
    print_payload(result, as_json)
    return result


if __name__ == "__main__":
    app()
