"""SMKD: weight-normalised shared classifier, GSBA on hand-made cases, the stage schedule, the ablation rows."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from ctc_spikes import spikes
from kedro.config import OmegaConfigLoader

from signdistill.losses.smkd import IGNORE_INDEX
from signdistill.metrics.efficiency import count_parameters
from signdistill.models.baseline import BaselineConfig, BaselineRecognizer, temporal_length
from signdistill.models.gsba import ctc_forced_alignment, expand_anchors, gsba, gsba_batch, resample_labels
from signdistill.models.registry import MODEL_BUILDERS, build_recognizer
from signdistill.models.smkd import SMKDConfig, SMKDRecognizer, WeightNormClassifier
from signdistill.models.smkd_schedule import SMKDSchedule, smkd_stage

IGN = IGNORE_INDEX
CONF = Path(__file__).resolve().parents[2] / "conf"
TINY = {"width": 4, "hidden": 16, "lstm_hidden": 8}  # the configured rows' switches on a network that runs fast


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**kw) -> SMKDRecognizer:
    torch.manual_seed(0)
    return SMKDRecognizer(SMKDConfig(num_classes=6, width=4, hidden=16, lstm_hidden=8, **kw))


def batch(frames=(40, 32)) -> dict:
    g = torch.Generator().manual_seed(1)
    video = torch.randint(0, 255, (len(frames), max(frames), 16, 16, 3), dtype=torch.uint8, generator=g)
    return {"video": video, "lengths": torch.tensor(frames), "labels": torch.tensor([1, 2, 3, 4, 5]),
            "label_lengths": torch.tensor([3, 2]), "ids": ["a", "b"]}


# ----------------------------------------------------------------------------- classifier


def test_weight_norm_classifier_has_unit_class_vectors_and_no_bias():
    clf = WeightNormClassifier(8, 5)
    assert clf.bias is None
    with torch.no_grad():
        clf.weight.mul_(7.0)
    torch.testing.assert_close(clf.class_vectors().norm(dim=1), torch.ones(5))
    f = torch.randn(3, 8)
    torch.testing.assert_close(clf(f), f @ F.normalize(clf.weight, dim=1).T)
    # logit = |f| cos(theta)
    cos = F.cosine_similarity(f[:, None, :], clf.weight[None], dim=-1)
    torch.testing.assert_close(clf(f), f.norm(dim=1, keepdim=True) * cos)
    # the optimiser cannot break the normalisation: it lives in the forward pass
    opt = torch.optim.SGD(clf.parameters(), lr=10.0)
    clf(f).sum().backward()
    opt.step()
    torch.testing.assert_close(clf.class_vectors().norm(dim=1), torch.ones(5))


def test_weight_norm_off_is_a_plain_linear_layer():
    clf = WeightNormClassifier(8, 5, weight_norm=False)
    f = torch.randn(3, 8)
    torch.testing.assert_close(clf(f), F.linear(f, clf.weight, clf.bias))
    assert clf.bias is not None


# ----------------------------------------------------------------------------- model


def test_forward_shapes_losses_and_backward():
    model = tiny(segmentation=True, kd=True)
    b = batch()
    out = model(b)
    t_out = int(temporal_length(torch.tensor([40]))[0])
    assert out["log_probs"].shape == (2, t_out, 6)
    assert out["visual_log_probs"].shape == (2, t_out, 6)
    assert out["out_lengths"].tolist() == temporal_length(b["lengths"]).tolist()
    assert set(out["losses"]) == {"ctc", "ctc_visual", "kd", "seg"}
    assert all(torch.isfinite(v) for v in out["losses"].values())
    assert out["pseudo_labels"].shape == (2, t_out)
    assert (out["pseudo_labels"][1, out["out_lengths"][1]:] == IGN).all()  # padding is never labelled
    sum(out["losses"].values()).backward()
    assert model.frames.conv1.weight.grad is not None and model.classifier.weight.grad.abs().sum() > 0


def test_inference_returns_no_losses_and_export_matches():
    model = tiny().eval()
    b = {k: v for k, v in batch().items() if k not in ("labels", "label_lengths")}
    with torch.no_grad():
        out, exported = model(b), model.export()(b)
    assert "losses" not in out
    torch.testing.assert_close(out["log_probs"], exported["log_probs"])
    assert count_parameters(model.export()) < count_parameters(model)


def test_shared_classifier_takes_both_gradients_until_decoupled():
    model = tiny()
    out = model(batch())
    out["losses"]["ctc_visual"].backward()
    assert model.visual_head() is model.classifier
    assert model.classifier.weight.grad.abs().sum() > 0 and model.visual_classifier.weight.grad is None

    model.decouple()
    torch.testing.assert_close(model.visual_classifier.weight, model.classifier.weight)
    assert model.visual_head() is model.visual_classifier
    with torch.no_grad():
        model.classifier.weight.add_(1.0)
    model.decouple()  # a second call does not copy again
    assert not torch.equal(model.visual_classifier.weight, model.classifier.weight)
    # a resumed checkpoint keeps the decoupled state
    fresh = tiny()
    fresh.load_state_dict(model.state_dict())
    assert fresh.visual_head() is fresh.visual_classifier


def test_config_rejects_mismatched_widths():
    with pytest.raises(ValueError, match="one width"):
        SMKDRecognizer(SMKDConfig(num_classes=6, width=4, hidden=16, lstm_hidden=4))


@cache
def _rows() -> dict[str, dict]:
    """The ``model`` block of every SMKD run in ``conf/base`` (``smkd`` and the ablation rows), as Kedro loads it."""
    loader = OmegaConfigLoader(conf_source=str(CONF), base_env="base", default_run_env="base")
    return {name: dict(run["recognizer"]["model"]) for name, run in loader["parameters"].items()
            if isinstance(run, dict) and run.get("recognizer", {}).get("kind") == "smkd"}


def configured_rows() -> dict[str, dict]:
    return {name: dict(model) for name, model in _rows().items()}


def configured(model: dict) -> SMKDRecognizer:
    torch.manual_seed(0)
    return build_recognizer("smkd", 6, {**model, **TINY})


def test_configured_rows_switch_the_loss_terms():
    """Each configured row trains with the terms its switches name: CTC always, eq. 9's visual CTC, eq. 12's KD,
    eq. 10's segmentation; and the rows cover Tables 1, 3 and 4 (with and without weight normalisation, KD,
    GSBA alone, weight sharing, the staged runs)."""
    rows = configured_rows()
    for name, model in rows.items():
        config = SMKDConfig(num_classes=6, **model)
        expected = {"ctc", *["ctc_visual"] * config.visual_ctc, *["kd"] * config.kd, *["seg"] * config.segmentation}
        out = configured(model)(batch((36,)) | {"labels": torch.tensor([1, 2]), "label_lengths": torch.tensor([2]),
                                                "ids": ["a"]})
        assert set(out["losses"]) == expected, name
    switches = [SMKDConfig(num_classes=6, **model) for model in rows.values()]
    assert {c.weight_norm for c in switches} == {True, False}
    assert any(c.kd for c in switches) and any(c.segmentation and not c.staged for c in switches)
    assert any(c.shared_classifier and not c.staged for c in switches) and any(c.staged for c in switches)


def test_rows_without_weight_norm_have_the_baseline_trunk_and_head():
    rows = {name: model for name, model in configured_rows().items() if model.get("weight_norm") is False}
    assert rows, "no configured SMKD row without weight normalisation (Table 1)"
    base = BaselineRecognizer(BaselineConfig(num_classes=6, **TINY))
    for name, model in rows.items():
        net = configured(model)
        loaded = net.load_state_dict(base.state_dict(), strict=False)  # a baseline checkpoint loads into SMKD:
        assert not loaded.unexpected_keys, name  # every baseline tensor has its place, SMKD adds only its own
        assert set(loaded.missing_keys) == {"decoupled", "visual_classifier.weight", "visual_classifier.bias"}, name
        for key, value in base.state_dict().items():
            assert torch.equal(net.state_dict()[key], value), (name, key)
        assert count_parameters(net.export()) == count_parameters(base), name


def test_pseudo_labels_are_cached_until_refresh():
    model = tiny(segmentation=True, radius=2)
    b = batch()
    first = model(b)["pseudo_labels"]
    assert set(model.pseudo_labels) == {"a", "b"}
    with torch.no_grad():  # new predictions would give other labels, but the cache holds
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    torch.testing.assert_close(model(b)["pseudo_labels"], first)
    model.apply_stage(smkd_stage(30, 110))  # a refresh epoch
    assert model.pseudo_labels == {} and model.radius == 1
    model.eval()  # evaluation never fills the cache
    model(b)
    assert model.pseudo_labels == {}


def test_resample_labels_follows_a_uniform_stretch():
    assert resample_labels(torch.tensor([1, 1, 2, 2]), 8).tolist() == [1, 1, 1, 1, 2, 2, 2, 2]
    assert resample_labels(torch.tensor([1, 2, 3]), 3).tolist() == [1, 2, 3]


def test_profile_builder_is_the_inference_network():
    net, inputs = MODEL_BUILDERS["smkd"](resolution=32, frames=24, vocab=6, channels=4)
    base, _ = MODEL_BUILDERS["baseline"](resolution=32, frames=24, vocab=6, channels=4)
    assert count_parameters(net) == count_parameters(base) - 6  # weight normalisation drops the bias
    with torch.no_grad():
        assert net.eval()(*inputs)["log_probs"].shape[-1] == 6


# ----------------------------------------------------------------------------- GSBA


def test_forced_alignment_finds_the_spikes():
    log_probs = spikes(10, 6, {3: 2, 7: 4})
    assert ctc_forced_alignment(log_probs.numpy(), np.array([2, 4])).tolist() == [-1, -1, -1, 0, -1, -1, -1, 1, -1, -1]


def test_forced_alignment_separates_repeats_and_gives_up_when_too_short():
    log_probs = torch.full((5, 4), -5.0)
    log_probs[:, 2] = -0.1  # class 2 everywhere: the path must still put a blank between the two 2s
    path = ctc_forced_alignment(log_probs.numpy(), np.array([2, 2]))
    assert set(path.tolist()) == {-1, 0, 1}
    first_end, second_start = np.where(path == 0)[0].max(), np.where(path == 1)[0].min()
    assert (path[first_end + 1:second_start] == -1).any()
    assert ctc_forced_alignment(log_probs[:2].numpy(), np.array([2, 2])).tolist() == [-1, -1]
    assert ctc_forced_alignment(log_probs.numpy(), np.array([], dtype=np.int64)).tolist() == [-1] * 5


def expand(radius: int) -> list[int]:
    # anchors: gloss position 0 (class 2) at frame 3, position 1 (class 4) at frame 7;
    # nearest label class per frame: frame 1 breaks the run of 2s, frames 5.. are 4
    anchors = torch.tensor([-1, -1, -1, 0, -1, -1, -1, 1, -1, -1])
    nearest = torch.tensor([2, 4, 2, 2, 2, 4, 4, 4, 4, 4])
    return expand_anchors(anchors, nearest, torch.tensor([2, 4]), radius).tolist()


def test_expand_anchors_grows_with_the_radius_and_stops_at_the_first_other_frame():
    assert expand(0) == [IGN, IGN, IGN, 2, IGN, IGN, IGN, 4, IGN, IGN]
    assert expand(1) == [IGN, IGN, 2, 2, 2, IGN, 4, 4, 4, IGN]
    # frame 1 stops gloss 2 going left (frame 0 is never reached although its nearest class is 2);
    # frame 5 stops it going right, and gloss 4 takes frame 5 instead
    assert expand(2) == [IGN, IGN, 2, 2, 2, 4, 4, 4, 4, 4]
    assert expand(3) == expand(2)  # nothing more to take: the other gloss's frames stop the growth


def test_expand_anchors_takes_whole_anchor_runs():
    anchors = torch.tensor([-1, -1, 0, 0, -1, -1])
    out = expand_anchors(anchors, torch.full((6,), 3), torch.tensor([3]), radius=1).tolist()
    assert out == [IGN, 3, 3, 3, 3, IGN]


def test_gsba_end_to_end_uses_cosine_similarity_among_the_label_glosses():
    n_cls = 6
    vectors = torch.eye(n_cls)
    cls_per_frame = [2, 4, 2, 2, 2, 4, 4, 4, 4, 4]
    feats = torch.stack([3.0 * vectors[c] for c in cls_per_frame])  # the norm does not matter, only the angle
    # frame 8 points mostly at class 5, which is not in the label: among {2, 4} it is still nearest to 4
    feats[8] = 0.9 * vectors[5] + 0.3 * vectors[4]
    log_probs = spikes(10, n_cls, {3: 2, 7: 4})
    labels = torch.tensor([2, 4])
    assert gsba(feats, vectors, log_probs, labels, 2).tolist() == [IGN, IGN, 2, 2, 2, 4, 4, 4, 4, 4]
    spikes_only = [-1] * 3 + [2] + [-1] * 3 + [4, -1, -1]
    assert gsba(feats, vectors, log_probs, labels, 0, ignore_index=-1).tolist() == spikes_only


def test_gsba_batch_marks_padding_as_ignored():
    vectors = torch.eye(6)
    feats = torch.stack([vectors[c] for c in [2, 2, 2, 4, 4, 4]])[None].repeat(2, 1, 1)
    log_probs = spikes(6, 6, {1: 2, 4: 4})[None].repeat(2, 1, 1)
    out = gsba_batch(feats, vectors, log_probs, torch.tensor([6, 3]), torch.tensor([2, 4, 2]), torch.tensor([2, 1]), 1)
    assert out[0].tolist() == [2, 2, 2, 4, 4, 4]
    assert out[1].tolist() == [2, 2, 2, IGN, IGN, IGN]


# ----------------------------------------------------------------------------- schedule


def test_schedule_at_paper_scale_reproduces_section_4_1():
    stage = {e: smkd_stage(e, 110) for e in range(110)}
    assert stage[29].name == "sync" and not stage[29].segmentation and stage[29].radius == 0
    assert stage[30].name == "segment" and stage[30].radius == 1 and stage[30].refresh_pseudo_labels
    assert not stage[35].refresh_pseudo_labels and stage[40].refresh_pseudo_labels
    assert [stage[e].radius for e in (49, 50, 69, 70, 89, 90)] == [1, 2, 2, 3, 3, 4]
    assert [stage[e].lr_factor for e in (39, 40, 60, 80, 99)] == [1.0, 0.5, 0.25, 0.125, 0.125]
    assert stage[99].name == "segment" and not stage[99].decouple
    assert stage[100].name == "decouple" and stage[100].decouple and stage[109].decouple
    assert stage[100].lr_factor == pytest.approx(4e-6 / 1e-4) and stage[100].segmentation
    assert all(s.visual_ctc == (not s.segmentation) for s in stage.values())  # eq. 10 replaces eq. 9's term


def test_schedule_scaled_to_small_budgets_keeps_every_stage():
    names = [smkd_stage(e, 8).name for e in range(8)]
    assert names == ["sync"] * 2 + ["segment"] * 5 + ["decouple"]
    assert [smkd_stage(e, 8).radius for e in range(8)] == [0, 0, 1, 1, 2, 3, 3, 4]
    assert [smkd_stage(e, 3).name for e in range(3)] == ["sync", "segment", "decouple"]
    assert smkd_stage(2, 8).paper_epoch == pytest.approx(27.5)


def test_schedule_without_stages():
    no_dec = SMKDSchedule(dec_train=False)
    assert not any(smkd_stage(e, 100, no_dec).decouple for e in range(100))
    assert smkd_stage(99, 100, no_dec).lr_factor == 0.125
    no_seg = SMKDSchedule(gloss_segment=False)
    assert not any(smkd_stage(e, 8, no_seg).segmentation for e in range(8))
    assert smkd_stage(7, 8, no_seg).decouple


def test_apply_stage_decouples_once_and_switches_losses():
    model = tiny()
    model.apply_stage(smkd_stage(100, 110))
    assert bool(model.decoupled) and model.segmentation and model.radius == 4
    assert set(model(batch())["losses"]) == {"ctc", "seg"}  # eq. 10: CE-LS instead of the visual CTC
    no_seg = tiny(gloss_segment=False)
    no_seg.apply_stage(smkd_stage(7, 8, SMKDSchedule(gloss_segment=False)))
    assert set(no_seg(batch())["losses"]) == {"ctc", "ctc_visual"}  # decoupled eq. 9 without segmentation
    gsba_rows = [model for model in configured_rows().values() if model.get("segmentation") and not model["staged"]]
    assert gsba_rows, "no configured row of GSBA alone (Table 3)"
    for model in gsba_rows:
        gsba_row = configured(model)
        gsba_row.apply_stage(smkd_stage(0, 110))
        assert not gsba_row.segmentation and not gsba_row.visual_ctc  # sync stage, and this row has no WS term
        gsba_row.apply_stage(smkd_stage(30, 110))
        assert gsba_row.segmentation and not gsba_row.visual_ctc
