"""The ``signdistill`` command: entry points that are not a pipeline run (``cli.py`` is Kedro's name). Bad input
gets one line, ``error: ...`` naming the file or option and the problem, and exit status 2 (``console_inputs``)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import logging
from pathlib import Path

import click
import typer
from typer.core import TyperCommand, TyperGroup

from signdistill import lanes, model_commands
from signdistill.benchmarks._cli import JSON_HELP, print_payload
from signdistill.console_inputs import (
    OneLineErrors,
    device_problem,
    fail,
    features_for,
    file_problem,
    load_model,
    output_problem,
    positive,
)

# Every benchmark, a module of signdistill.benchmarks that exposes a typer `app`: `signdistill bench <name>` runs
# it, its name the module's with "-" for "_" (either is accepted). A new benchmark is added here.
BENCHMARKS = ("crosschecks", "data_speed", "distill_cost", "flow", "gsba_accuracy", "heatmaps", "loss_scales",
              "mediapipe_synthsign", "method_seeds", "scaling", "signkd_latency", "startup", "step_times",
              "time_to_accuracy", "windowed_decoding")


class _Benchmarks(TyperGroup):
    """``signdistill bench``: each benchmark imported only when it runs; the listing reads docstrings alone."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name.replace("_", "-") for name in BENCHMARKS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = cmd_name.replace("-", "_")
        if module not in BENCHMARKS:
            return None
        command = typer.main.get_command(importlib.import_module(f"signdistill.benchmarks.{module}").app)
        command.name = cmd_name.replace("_", "-")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name.replace("_", "-"), _docstring_summary(name)) for name in BENCHMARKS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _docstring_summary(module: str) -> str:
    """The first paragraph of a benchmark module's docstring, read from its source (``--help`` of the benchmark
    shows the same)."""
    spec = importlib.util.find_spec(f"signdistill.benchmarks.{module}")
    doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text())) if spec and spec.origin else None
    return " ".join((doc or "").split("\n\n")[0].split())


# Plain help (no rich panels): value options show a name (PATH, N), never a <type> tag, and flags show nothing.
app = typer.Typer(cls=OneLineErrors,
                  help="SignDistill: continuous sign language recognition with knowledge distillation.",
                  no_args_is_help=True, rich_markup_mode=None, add_completion=False)
bench = typer.Typer(cls=_Benchmarks, no_args_is_help=True, rich_markup_mode=None,
                    subcommand_metavar="BENCHMARK [OPTIONS]...",
                    help="Benchmarks: each prints figures measured side by side in one run. BENCHMARK is a module "
                         "of signdistill.benchmarks (also run as `python -m signdistill.benchmarks.<module>`, same "
                         "options); `signdistill bench BENCHMARK --help` for its options.")
app.add_typer(bench, name="bench")
for name, command in (("convert-model", model_commands.convert_model), ("register-best", model_commands.register_best),
                      ("lanes", lanes.lanes)):
    app.command(name)(command)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@app.command()
def synth(out: Path = typer.Option(..., metavar="PATH", help="Corpus root to write (PHOENIX-2014 layout)."),
          preset: str = typer.Option("default", metavar="NAME", help="tiny | default | phoenix_like"),
          seed: int = typer.Option(0, min=0, metavar="N", help="Everything is deterministic from this seed."),
          workers: int = typer.Option(0, min=0, metavar="N", help="Processes (0 = all cores)."),
          force: bool = typer.Option(False, help="Regenerate even if the corpus is current.")) -> None:
    """Generate a SynthSign corpus (skipped when the corpus for these parameters already exists)."""
    from signdistill.synth.corpus import generate_corpus, get_preset

    if out.exists() and not out.is_dir():
        fail(f"{out} is a file; give the folder to write the corpus in")
    try:
        chosen = get_preset(preset)
    except ValueError as err:
        fail(str(err), err)
    manifest = generate_corpus(out, chosen, seed, workers=workers, force=force)
    typer.echo(json.dumps({k: manifest[k] for k in ("videos", "frames_written", "vocabulary", "fingerprint")}))


@app.command()
def corpus(root: Path = typer.Argument(..., metavar="ROOT", hidden=True),
           layout: str = typer.Option("auto", metavar="NAME",
                                      help="auto | phoenix2014 | phoenix2014t | csl_daily | video_csv")) -> None:
    """Print a JSON summary of a corpus: samples, frames, vocabulary, unknown glosses, problems.

    ROOT is the corpus root (the folder that holds its annotations and frames or videos).
    """
    from signdistill.data.corpora import summarise_corpus

    try:
        summary = summarise_corpus(root, layout)
    except (OSError, ValueError) as err:
        fail(str(err), err)
    typer.echo(json.dumps(summary, indent=1, default=str))


@app.command()
def score(ref: Path = typer.Option(..., metavar="PATH",
                                   help="References: '<id> <gloss> ...' lines, or a PHOENIX corpus CSV."),
          hyp: Path = typer.Option(..., metavar="PATH",
                                   help="Hypotheses: '<id> <gloss> ...' lines (a bare id = empty)."),
          rules: str = typer.Option("phoenix2014", metavar="NAME",
                                    help="Cleanup before scoring: phoenix2014 | phoenix2014t | none"),
          as_json: bool = typer.Option(False, "--json", help="Everything, per-sample rows included, as JSON.")) -> None:
    """WER (%) with substitutions, deletions and insertions; per signer when the references are a corpus CSV."""
    from signdistill.metrics.wer import read_corpus_csv, read_transcripts, score_corpus

    problem = file_problem(ref, text=True) or file_problem(hyp, text=True)
    if problem:
        fail(problem)
    try:
        refs, signers = read_corpus_csv(ref) if ref.suffix == ".csv" else (read_transcripts(ref), None)
        result = score_corpus(refs, read_transcripts(hyp), rules=rules, signers=signers or None)
    except (OSError, ValueError) as err:
        fail(str(err), err)
    if not as_json:  # the summary only, to two decimals
        def rounded(value: object) -> object:
            return {k: rounded(v) for k, v in value.items()} if isinstance(value, dict) else (
                round(value, 2) if isinstance(value, float) else value)

        result = {k: rounded(v) for k, v in result.items() if k != "samples"}
    print_payload(result, as_json)


@app.command()
def params(env: str = typer.Option("base", metavar="ENV",
                                   help="Configuration environment (conf/<ENV> over conf/base, as `kedro run --env`)."),
           run: str | None = typer.Option(None, metavar="RUN",
                                          help="Only this run, as it trains: its RunSpec, every default filled in."),
           conf: Path = typer.Option(Path("conf"), metavar="PATH",
                                     help="Configuration root holding base/ and the environments.")) -> None:
    """Print the parameters `kedro run --env ENV` reads, resolved (YAML), or one run's full specification.

    The output is a file that benchmarks read without Kedro (`--params FILE`), e.g. on a GPU machine.
    """
    import yaml
    from kedro.config import MissingConfigException

    from signdistill.config import load_parameters

    try:
        config = load_parameters(env, conf)
    except MissingConfigException as err:
        fail(str(err), err)
    if run is not None:
        from signdistill.training.spec import DEFAULT_CHECKPOINT_ROOT, RunSpec

        if not isinstance(config.get(run), dict) or "recognizer" not in config[run]:
            fail(f"{env} has no run {run!r}")
        try:
            spec = RunSpec.from_params(config[run]["recognizer"], run, config.get("checkpoint_root",
                                                                                   DEFAULT_CHECKPOINT_ROOT))
        except ValueError as err:
            fail(str(err), err)
        config = {run: {"recognizer": spec.to_params()}}
    typer.echo(yaml.safe_dump(config, sort_keys=False, width=120), nl=False)


@app.command()
def results(reporting: list[Path] = typer.Option([Path("data/08_reporting")], metavar="PATH", help="The "
                                                "pipelines' reports; repeat to merge checkouts (a later one wins)."),
            out: Path = typer.Option(Path("docs/results.md"), metavar="PATH", help="The markdown to write."),
            readme: Path = typer.Option(Path("README.md"), metavar="PATH", help="Its results block is rewritten.")
            ) -> None:
    """Generate docs/results.md (and the README's headline table) from the reports and from docs/results/."""
    from signdistill.reporting.results import kept_folder, write_results
    if (missing := [f for f in reporting if not f.is_dir()]) and not kept_folder(out).is_dir():
        fail(f"{missing[0]}: no such folder (run a pipeline first, e.g. kedro run --pipelines seeds_smkd)")
    write_results([f for f in reporting if f.is_dir()], out, readme)
    typer.echo(f"wrote {out}")


def model_names() -> list[str]:
    """The networks ``profile`` builds: the keys of ``models.registry.MODEL_BUILDERS``, read from its source so
    that ``profile --help`` does not import torch and every model."""
    spec = importlib.util.find_spec("signdistill.models.registry")
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.AnnAssign | ast.Assign) and "MODEL_BUILDERS" in ast.unparse(node).split("=")[0]:
            return sorted(key.value for key in node.value.keys)
    raise LookupError("signdistill.models.registry defines no MODEL_BUILDERS")


class _ProfileCommand(TyperCommand):
    """``profile --help`` lists the model names, read from the registry only when help is asked for."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = ", ".join(model_names())
        self.help = f"{self.help.split(chr(10))[0]}\n\nMODEL, the network to build, is one of: {names}."
        super().format_help(ctx, formatter)


@app.command(cls=_ProfileCommand)
def profile(model: str = typer.Argument(..., metavar="MODEL", hidden=True),
            resolution: int = typer.Option(112, min=1, metavar="PX", help="Input height and width in pixels."),
            frames: int = typer.Option(200, min=1, metavar="N", help="Frames in the clip."),
            vocab: int = typer.Option(1296, min=2, metavar="N", help="Output classes (glosses + blank)."),
            channels: int | None = typer.Option(None, min=1, metavar="N",
                                                help="Model width/input channels, passed to the builder."),
            device: str = typer.Option("cpu", metavar="DEVICE",
                                       help="cpu | cuda | cuda:N | meta (shapes only: parameters and "
                                                   "MACs in a fraction of a second, no latency)"),
            warmup: int = typer.Option(2, min=0, metavar="N", help="Untimed passes before timing."),
            repeats: int = typer.Option(5, min=0, metavar="N", help="Timed passes; the median is reported."),
            as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Parameters, MACs (G) and median latency for one clip."""
    from signdistill.metrics.efficiency import profile_model
    from signdistill.models.registry import MODEL_BUILDERS

    if model not in model_names():
        fail(f"unknown model {model!r}; known: {', '.join(model_names())}")
    if device != "meta" and device_problem(device):
        fail(device_problem(device))
    extra = {} if channels is None else {"channels": channels}
    if device == "meta":  # no kernel runs on meta tensors, so there is nothing to time
        repeats = 0

    def move(x: object) -> object:  # recognisers take a batch dict: its tensors move too
        if isinstance(x, dict):
            return {k: move(v) for k, v in x.items()}
        return x.to(device) if hasattr(x, "to") else x

    net, inputs = MODEL_BUILDERS[model](resolution=resolution, frames=frames, vocab=vocab, **extra)
    net = net.to(device)
    inputs = tuple(move(x) for x in inputs)
    try:
        stats = profile_model(net, inputs, warmup=warmup, repeats=repeats)
    except NotImplementedError as err:  # value-dependent ops (valid-frame selection, packing) have no meta kernel
        if device != "meta":
            raise
        fail(f"{model} selects frames by value, which shapes alone cannot trace; profile it with --device cpu "
             f"({str(err).splitlines()[0]})", err)
    except RuntimeError as err:  # a clip smaller than the network's kernels (frames or pixels)
        fail(f"{model} cannot run on {frames} frames of {resolution} px: {str(err).splitlines()[0]}", err)
    print_payload({"model": model, "resolution": resolution, "frames": frames, "vocab": vocab, "channels": channels,
            **stats}, as_json)


@app.command()
def flow(img1: Path = typer.Argument(..., metavar="IMG1", hidden=True),
         img2: Path = typer.Argument(..., metavar="IMG2", hidden=True),
         out: Path = typer.Option(..., metavar="PATH", help="Where to write the [H,W,2] float32 (dx, dy) .npy."),
         backend: str = typer.Option("torch", metavar="NAME",
                                     help="torch | opencv (cv2.optflow.DualTVL1 with its defaults)"),
         device: str = typer.Option("cpu", metavar="DEVICE", help="torch backend: cpu | cuda | cuda:N")) -> None:
    """TV-L1 optical flow from IMG1 to IMG2 (both converted to grayscale): img1(x) ~ img2(x + flow(x)).

    IMG1 and IMG2 are two frames of the same size, any image files OpenCV reads.
    """
    import cv2
    import numpy as np

    from signdistill.data.atomic import atomic_write

    problem = file_problem(img1) or file_problem(img2) or output_problem(out)
    if problem is None and backend == "torch":
        problem = device_problem(device)
    if problem:
        fail(problem)
    frames = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in (img1, img2)]
    problem = next((f"{p} is not an image OpenCV can read (corrupt, truncated or another format)"
                    for p, f in zip((img1, img2), frames, strict=True) if f is None), None)
    if problem is None and frames[0].shape != frames[1].shape:
        problem = f"frames differ in size: {frames[0].shape} and {frames[1].shape}"
    if problem is None and backend not in ("torch", "opencv"):
        problem = f"unknown backend {backend!r}; use torch or opencv"
    if problem:
        fail(problem)
    if backend == "opencv":
        from signdistill.flow.tvl1 import opencv_tvl1_flow

        field = opencv_tvl1_flow(frames[0], frames[1])
    else:
        import torch

        from signdistill.flow.tvl1 import tvl1_flow

        a, b = (torch.from_numpy(f).to(device=device, dtype=torch.float32) for f in frames)
        field = tvl1_flow(a, b).cpu().numpy()
    atomic_write(out, lambda tmp: np.save(tmp, np.ascontiguousarray(field, dtype=np.float32)), ".tmp.npy")
    typer.echo(json.dumps({"out": str(out), "shape": list(field.shape), "backend": backend,
                           "max_abs_px": float(np.abs(field).max())}))


@app.command()
def pose(source: Path = typer.Argument(..., metavar="SOURCE", hidden=True),
         as_json: bool = typer.Option(False, "--json", help="Print every keypoint as JSON."),
         out: Path | None = typer.Option(None, metavar="PATH",
                                         help="Also write the keypoints as a float32 [T,133,3] .npy.")) -> None:
    """MediaPipe Holistic keypoints in the COCO-WholeBody-133 layout: x, y in pixels and a score (0 = not found).

    SOURCE is an image, a video file or a folder of frames.
    """
    import numpy as np

    from signdistill.data.frames import IMAGE_EXTENSIONS, FrameReadError, read_frames, read_image
    from signdistill.pose.holistic import PARTS, HolisticExtractor

    if out is not None and output_problem(out):
        fail(output_problem(out))
    try:
        is_image = source.suffix.lower() in IMAGE_EXTENSIONS
        frames = read_image(source)[None] if is_image else read_frames(source)
    except FrameReadError as err:
        fail(str(err), err)
    with HolisticExtractor() as extractor:
        result = extractor.extract(frames)
    if not result.flags("body").any():
        typer.echo(f"warning: {source}: no person found in its {len(frames)} frame(s); every score is 0", err=True)
    if out is not None:
        from signdistill.data.atomic import atomic_write
        atomic_write(out, lambda tmp: np.save(tmp, result.keypoints), ".tmp.npy")
    payload = {"source": str(source), "layout": "coco_wholebody_133", "frames": len(frames), "frame_size":
               list(frames.shape[1:3]), "detected": {part: float(result.flags(part).mean()) for part in PARTS}}
    if as_json:
        payload["keypoints"] = np.round(result.keypoints, 2).tolist()
    print_payload(payload, as_json)


@app.command()
def recognize(source: Path = typer.Argument(..., metavar="SOURCE", hidden=True),
              model: Path = typer.Option(..., metavar="PATH",
                                         help="A trained model: data/06_models/<run>.safetensors"),
              fps: float = typer.Option(25.0, metavar="FPS", callback=positive,
                              help="Frames per second of SOURCE (PHOENIX: 25)."),
              decoder: str = typer.Option("beam", metavar="NAME", help="greedy | beam (CTC prefix beam search)."),
              beam_width: int = typer.Option(10, min=1, metavar="N", help="Beam width of the beam decoder."),
              window: int = typer.Option(256, min=0, metavar="FRAMES",
                                         help="Frames per window: a longer video runs in windows of this many "
                                              "frames plus --overlap each side, so memory stays flat; a video of "
                                              "at most window + 2 x overlap frames runs whole. 0: always whole. "
                                              "A multiple of the model's temporal stride (4; CTCA 2)."),
              overlap: int = typer.Option(64, min=0, metavar="FRAMES",
                                          help="Context frames each side of a window, whose outputs are discarded "
                                               "(64 covers every model's convolutions; see decoding/windows.py)."),
              features_config: Path = typer.Option(Path("conf/base/parameters_features.yml"), metavar="PATH",
                                                   help="The features parameters a flow/keypoint model was trained "
                                                        "with (only read for such a model)."),
              env: str | None = typer.Option(None, metavar="ENV",
                                             help="Read the features parameters of this configuration environment "
                                                  "(e.g. phoenix2014, through Kedro's loader) instead of "
                                                  "--features-config."),
              as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Recognise the glosses of one video, each with its time span (from the CTC spikes).

    SOURCE is a video file or a folder of frames. A model that reads optical flow and keypoints (a SignKD
    teacher) gets them computed here, with the settings of --features-config (or of --env). Videos longer than
    --window + 2 x --overlap frames are decoded in overlapping windows whose log-probabilities are stitched
    and decoded once.
    """
    from signdistill.data.frames import FrameReadError, open_frames, read_frames
    from signdistill.decoding.spans import recognise_spans

    if decoder not in ("greedy", "beam"):
        fail(f"unknown decoder {decoder!r} (greedy | beam)")
    network, view, vocabulary = load_model(model)
    try:
        features = features_for(view, features_config, model, env)
        frames = open_frames(source) if window else read_frames(source)  # windows: read as they are decoded
    except (OSError, ValueError, FrameReadError) as err:
        fail(str(err), err)
    try:
        spans = recognise_spans(network, frames, view, vocabulary, fps, features, decoder, beam_width,
                                window or None, overlap)
    except FrameReadError as err:
        fail(str(err), err)
    except ValueError as err:  # a video too short for the model, a window the model's stride cannot align
        fail(f"{source}: {err}", err)
    if as_json:
        typer.echo(json.dumps({"source": str(source), "model": str(model), "frames": len(frames), "fps": fps,
                               "glosses": [span.as_dict() for span in spans]}, indent=1))
        return
    for span in spans:
        typer.echo(f"{span.start_s:7.2f} - {span.end_s:7.2f} s  {span.gloss}")
    if not spans:
        typer.echo("(no gloss recognised)")
