"""Long videos in overlapping windows against whole-video decoding: the glosses (equal? WER between them), the
largest log-probability difference, peak memory and seconds, side by side for growing video lengths.

The long video is the first four SynthSign (``tiny`` preset, 210 x 260 px) renderings laid end to end and
repeated up to each length, written as an MJPG AVI and read as ``signdistill recognize`` reads it: whole
(``read_frames``) or window by window (``open_frames``). The model is ``--model`` or the first package under
``data/06_models``; without one, a random-init baseline with its batch norm measured on the video (the output
says which). Each (length, whole | windowed) decode runs in a fresh process (forked from one that imported torch
and nothing more), so that its peak resident memory (``ru_maxrss``; ``torch.cuda.max_memory_allocated`` on a
GPU) is its own; ``rss+`` is that peak over what the process held with the model loaded, i.e. the frames read,
preprocessed and run. ``max in`` is the most frames one forward pass saw.

Run: ``uv run signdistill bench windowed-decoding [--model data/06_models/<run>.safetensors] [--lengths 200 800
3200] [--window 256 --overlap 64]``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import torch
import typer

from signdistill.benchmarks._cli import JSON_HELP, MultiValueCommand, benchmark_app, summary
from signdistill.data.frames import open_frames, read_frames
from signdistill.decoding.ctc import decode_log_probs
from signdistill.decoding.video import packaged_model, video_batch
from signdistill.decoding.windows import OVERLAP, WINDOW, windowed_log_probs
from signdistill.metrics.wer import align
from signdistill.models.registry import build_recognizer, package_model, read_package
from signdistill.paths import DATA

app = benchmark_app(__doc__)
RANDOM_VIEW = {"store_size": 40, "crop": 36}
RANDOM_CONFIG = {"width": 8, "hidden": 64, "lstm_hidden": 32, "lstm_layers": 2}


def long_video(frames: int, videos: int = 4) -> np.ndarray:
    """uint8 [frames, 260, 210, 3]: ``videos`` SynthSign renderings end to end, repeated to ``frames``."""
    from signdistill.synth.corpus import get_preset, plan_corpus, render_video
    from signdistill.synth.lexicon import rest_glosses

    preset = get_preset("tiny")
    lexicon, signers, plans = plan_corpus(preset, 0)
    glosses = {g.name: g for g in lexicon + rest_glosses()}
    pieces = []
    for plan in plans[:videos]:
        rendered, _, _ = render_video(plan, glosses, signers[plan.signer], 0, preset.width, preset.height)
        pieces.append(rendered)
    clip = np.concatenate(pieces)
    return np.concatenate([clip] * (frames // len(clip) + 1))[:frames]


def random_package(clip: np.ndarray) -> dict:
    """A random-init baseline (vocabulary: the tiny lexicon) whose batch norm statistics are measured on
    ``clip``: default statistics shrink activations to near-uniform outputs that decode to nothing."""
    from signdistill.synth.corpus import get_preset, plan_corpus

    glosses = sorted(g.name for g in plan_corpus(get_preset("tiny"), 0)[0])
    torch.manual_seed(0)
    model = build_recognizer("baseline", len(glosses) + 1, RANDOM_CONFIG)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = None
    with torch.no_grad():
        model.train()(video_batch(clip[:256], RANDOM_VIEW))
    return package_model("baseline", model, model.state_dict(), {"glosses": glosses}, RANDOM_VIEW)


def _decode(package_path: str, video: str, window: int | None, overlap: int, device: str,
            result: mp.Queue) -> None:
    """In a fresh process: decode ``video`` as ``signdistill recognize`` does (read whole, or window by window
    with ``open_frames``), report glosses, log-probs, memory and seconds."""
    torch.set_num_threads(1)
    model, view, vocabulary = packaged_model(read_package(package_path))
    model.to(device)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fed: list[int] = []
    model.register_forward_pre_hook(lambda _, args: fed.append(args[0]["video"].shape[1]))
    start = time.perf_counter()
    frames = open_frames(Path(video)) if window else read_frames(Path(video))
    log_probs = windowed_log_probs(model, frames, view, None, window, overlap)
    ids = decode_log_probs(log_probs[None], torch.tensor([len(log_probs)]), "beam", 10)[0]
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result.put({"glosses": vocabulary.decode(ids), "log_probs": log_probs.numpy(), "seconds": seconds,
                "rss_mb": peak / 1024, "rss_added_mb": (peak - loaded) / 1024, "max_in": max(fed),
                "forwards": len(fed), "cuda_mb": torch.cuda.max_memory_allocated() / 2**20
                if device.startswith("cuda") else None})


def write_video(frames: np.ndarray, path: Path) -> Path:
    """An MJPG AVI of RGB ``frames`` (what ``recognize`` reads)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (frames.shape[2], frames.shape[1]))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def run_fresh(package_path: Path, video: Path, window: int | None, overlap: int, device: str) -> dict:
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["signdistill.benchmarks.windowed_decoding"])
    queue = context.Queue()
    process = context.Process(target=_decode, args=(str(package_path), str(video), window, overlap, device, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def compare(whole: dict, windowed: dict) -> dict:
    counts = align(whole["glosses"], windowed["glosses"])
    errors = counts.sub + counts.dels + counts.ins
    return {"equal": whole["glosses"] == windowed["glosses"], "glosses": len(whole["glosses"]),
            "wer": 100.0 * errors / max(counts.ref_len, 1),
            "max_logprob_diff": float(np.abs(whole["log_probs"] - windowed["log_probs"]).max())}


def format_rows(rows: list[dict], header: str) -> str:
    lines = [header, f"{'frames':>6} {'steps':>5} {'glosses':>7} {'equal':>5} {'WER%':>5} {'max|dlogp|':>10} "
                     f"{'rss MB whole/win':>17} {'rss+ MB whole/win':>18} {'max in':>11} {'s whole/win':>12}"]
    for r in rows:
        w, v = r["whole"], r["windowed"]
        lines.append(f"{r['frames']:>6} {r['steps']:>5} {r['glosses']:>7} {str(r['equal']):>5} {r['wer']:>5.1f} "
                     f"{r['max_logprob_diff']:>10.2e} {w['rss_mb']:>8.0f}/{v['rss_mb']:<8.0f} "
                     f"{w['rss_added_mb']:>9.0f}/{v['rss_added_mb']:<8.0f} {w['max_in']:>5}/{v['max_in']:<5} "
                     f"{w['seconds']:>5.1f}/{v['seconds']:<5.1f}")
        if w["cuda_mb"] is not None:
            lines.append(f"{'':>6} cuda max allocated MB whole/windowed: {w['cuda_mb']:.0f}/{v['cuda_mb']:.0f}")
    return "\n".join(lines)


@app.command(cls=MultiValueCommand, help=summary(__doc__))
def main(model: Annotated[Path | None, typer.Option(metavar="PATH", help="A trained package (default: the first "
                                                    "under data/06_models; none: a random-init baseline).")] = None,
         lengths: Annotated[list[int], typer.Option(metavar="FRAMES ...", help="Video lengths to decode.")
                            ] = [200, 800, 3200],
         window: Annotated[int, typer.Option(metavar="FRAMES", help="Frames per window.")] = WINDOW,
         overlap: Annotated[int, typer.Option(metavar="FRAMES", help="Context frames each side.")] = OVERLAP,
         device: Annotated[str, typer.Option(metavar="DEVICE", help="cpu | cuda | cuda:N")] = "cpu",
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> list[dict]:
    clip = long_video(max(lengths))
    packages = sorted(DATA.models.glob("*.safetensors")) if model is None else [model]
    with tempfile.TemporaryDirectory() as tmp:
        if packages:
            package_path, source = packages[0], f"trained package {packages[0]}"
        else:
            package_path, source = Path(tmp) / "random.pt", "random-init baseline (no package in data/06_models)"
            torch.save(random_package(clip), package_path)
        rows = []
        for frames in lengths:
            video = write_video(clip[:frames], Path(tmp) / f"long_{frames}.avi")
            whole = run_fresh(package_path, video, None, overlap, device)
            windowed = run_fresh(package_path, video, window, overlap, device)
            rows.append({"frames": frames, "steps": len(whole["log_probs"]), **compare(whole, windowed),
                         "whole": whole, "windowed": windowed})
    header = (f"{source}; window {window} + overlap {overlap} each side; SynthSign tiny videos end to end, "
              f"{clip.shape[2]}x{clip.shape[1]} px MJPG AVI read as `recognize` does; beam 10; {device}")
    for r in rows:
        for mode in ("whole", "windowed"):
            r[mode] = {k: v for k, v in r[mode].items() if k != "log_probs"}
    if as_json:
        typer.echo(json.dumps({"setup": header, "rows": rows}, indent=1))
    else:
        typer.echo(format_rows(rows, header))
    return rows


if __name__ == "__main__":
    app()
