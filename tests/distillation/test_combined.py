"""``distill_combined``: SignKD's teacher and its RGB student at a lower resolution, as configured (conf/base and the
paper environments): who reads which frames, the shared teacher targets, and the paper-scale student's cost as
``signdistill profile`` prints it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from signdistill.config import load_parameters
from signdistill.console import app
from signdistill.metrics.efficiency import count_macs, profile_model
from signdistill.models.registry import MODEL_BUILDERS, build_recognizer, inference_network
from signdistill.training.recipes import teacher_data_view, teacher_view
from signdistill.training.spec import RunSpec

CONF = Path(__file__).resolve().parents[2] / "conf"


def _spec(params: dict, run: str) -> RunSpec:
    return RunSpec.from_params(params[run]["recognizer"], run)


def _package(spec: RunSpec) -> dict:
    return {"data": spec.data_view()}


@pytest.mark.parametrize(("env", "student_size", "teacher_size"), [("base", 24, 32), ("phoenix2014", 72, 224)])
def test_one_crop_two_resolutions(env: str, student_size: int, teacher_size: int) -> None:
    """The combined student reads the crop at its resolution, the teacher at the one it was trained on (its
    package says which); SignKD's own student reads the teacher's frames, CRKD's teacher reads the crop."""
    params = load_parameters(env, CONF)
    teacher = _spec(params, "signkd_teacher")
    combined, signkd = _spec(params, "combined_distilled"), _spec(params, "signkd_distilled")
    assert combined.resize == student_size < teacher_size
    assert teacher_view(combined, _package(teacher)) == teacher_size
    assert teacher_view(signkd, _package(teacher)) is None
    crkd = _spec(params, "crkd_distilled")
    assert teacher_view(crkd, _package(_spec(params, "crkd_teacher"))) == crkd.crop
    # the teacher's targets are cached for the clips it reads: signkd_distilled's, shared
    assert teacher_data_view(combined, teacher_size) == teacher_data_view(signkd, None)
    assert _spec(params, "combined_scratch").resize == student_size
    # everything but the student's resolution is SignKD's distilled student's
    same = ("kind", "model", "streams", "distill", "train", "store_size", "crop", "crop_scale", "temporal_scale")
    assert {k: getattr(combined, k) for k in same} == {k: getattr(signkd, k) for k in same}


def test_a_teacher_of_another_crop_is_refused() -> None:
    params = load_parameters("base", CONF)
    combined = _spec(params, "combined_distilled")
    with pytest.raises(ValueError, match="combined_distilled.*teacher's crop"):
        teacher_view(combined, {"data": {"store_size": 128, "crop": 112}})


def _profile(*args: str) -> dict:
    result = CliRunner().invoke(app, ["profile", *args, "--device", "meta", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_paper_scale_profile() -> None:
    """``signdistill profile signkd_student --resolution 72`` is the paper-scale combined student (conf/paper), and
    it costs fewer MACs than SignKD's student at 224 px and CRKD's LRINet at 72 px."""
    params = load_parameters("phoenix2014", CONF)
    combined = _spec(params, "combined_distilled")
    out = _profile(combined.kind, "--resolution", str(combined.resize))
    model, inputs = MODEL_BUILDERS[combined.kind](resolution=combined.resize, frames=200, vocab=1296)
    assert model.config.width == combined.model["width"] == 1.0
    stats = profile_model(model.to("meta"), ({k: v.to("meta") for k, v in inputs[0].items()},), warmup=0, repeats=0)
    assert (out["params"], out["macs"]) == (stats["params"], stats["macs"]) == (7_665_232, 23_859_110_400)
    signkd = _spec(params, "signkd_distilled")
    crkd = _spec(params, "crkd_distilled")
    signkd_cost = _profile(signkd.kind, "--resolution", str(signkd.crop))
    crkd_cost = _profile(crkd.kind, "--resolution", str(crkd.resize), "--channels", str(crkd.model["channels"]))
    assert out["gmacs"] < signkd_cost["gmacs"] / 5 and out["gmacs"] < crkd_cost["gmacs"] / 5
    assert out["params"] == signkd_cost["params"]  # the same network, fewer pixels


@pytest.mark.parametrize("env", ["base", "phoenix2014"])
def test_the_larger_combined_student_stays_under_lrinets_cost(env: str) -> None:
    """``combined_distilled_large`` (twice the channels on the embedded corpus, 104 px at paper scale) costs more
    than the combined student and less than CRKD's distilled LRINet, the student it is judged against."""
    params = load_parameters(env, CONF)

    def gmacs(run: str) -> float:
        spec = _spec(params, run)
        config = {k: v for k, v in spec.model.items() if k != "weights"}  # pretrained or not, the same cost
        model = inference_network(build_recognizer(spec.kind, 1296, config)).to("meta")
        size = spec.input_size
        clip = {"video": torch.zeros(1, 200, size, size, 3, dtype=torch.uint8, device="meta"),
                "lengths": torch.tensor([200])}
        return count_macs(model, (clip,)) / 1e9

    assert gmacs("combined_distilled") < gmacs("combined_distilled_large") < gmacs("crkd_distilled")
