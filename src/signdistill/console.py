"""The ``signdistill`` command: entry points that are not a pipeline run (``cli.py`` is Kedro's name)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

app = typer.Typer(help="SignDistill: continuous sign language recognition with knowledge distillation.",
                  no_args_is_help=True)
bench = typer.Typer(help="Benchmarks: each prints figures measured side by side in one run.", no_args_is_help=True)
app.add_typer(bench, name="bench")


def _print(payload: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=1, default=str))
        return
    for key, value in payload.items():
        typer.echo(f"{key}: {json.dumps(value, default=str) if isinstance(value, dict | list) else value}")


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@app.command()
def synth(out: Path = typer.Option(..., help="Corpus root to write (PHOENIX-2014 layout)."),
          preset: str = typer.Option("default", help="tiny | default | phoenix_like"),
          seed: int = typer.Option(0, help="Everything is deterministic from this seed."),
          workers: int = typer.Option(0, help="Processes (0 = all cores)."),
          force: bool = typer.Option(False, help="Regenerate even if the corpus is current.")) -> None:
    """Generate a SynthSign corpus (skipped when the corpus for these parameters already exists)."""
    from signdistill.synth.corpus import generate_corpus, get_preset

    manifest = generate_corpus(out, get_preset(preset), seed, workers=workers, force=force)
    typer.echo(json.dumps({k: manifest[k] for k in ("videos", "frames_written", "vocabulary", "fingerprint")}))


@app.command()
def corpus(root: Path = typer.Argument(..., help="Corpus root."),
           layout: str = typer.Option("auto", help="auto|phoenix2014|phoenix2014t|csl_daily|video_csv")) -> None:
    """Print a JSON summary of a corpus: samples, frames, vocabulary, unknown glosses, problems."""
    from signdistill.data.corpora import summarise_corpus

    try:
        summary = summarise_corpus(root, layout)
    except (FileNotFoundError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(json.dumps(summary, indent=1, default=str))


@bench.command("synth")
def bench_synth(videos: int = typer.Option(24), as_json: bool = typer.Option(False, "--json")) -> None:
    """SynthSign generation speed (videos/s) on all cores against one core."""
    from signdistill.benchmarks.data_speed import bench_synth as run

    _print(run(videos), as_json)


@bench.command("preprocess")
def bench_preprocess(corpus: Path = typer.Option(Path("data/01_raw/synthsign")),
                     as_json: bool = typer.Option(False, "--json")) -> None:
    """Decode + resize + pack frames/s (cold) and the time of an unchanged rerun."""
    from signdistill.benchmarks.data_speed import bench_preprocess as run

    _print(run(corpus), as_json)


@bench.command("loader")
def bench_loader(corpus: Path = typer.Option(Path("data/01_raw/synthsign")),
                 store: Path = typer.Option(Path("data/03_primary/frame_store")),
                 size: int = typer.Option(128), workers: int = typer.Option(2),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """DataLoader frames/s from the packed store against decoding the image files."""
    from signdistill.benchmarks.data_speed import bench_loader as run

    _print(run(corpus, store, size, workers), as_json)


@bench.command("mediapipe")
def bench_mediapipe(videos: int = typer.Option(40), seed: int = typer.Option(0), workers: int = typer.Option(2),
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """MediaPipe Holistic detection rates and PCK on SynthSign default videos."""
    from signdistill.benchmarks.mediapipe_synthsign import run

    _print(run(num_videos=videos, seed=seed, workers=workers), as_json)
