"""CTCA's SPM-shared dual-path network: shapes, frame dropping, loss switches, the smaller inference path."""

import math
from pathlib import Path

import pytest
import torch
from kedro.config import OmegaConfigLoader

from signdistill.metrics.efficiency import count_macs, count_parameters
from signdistill.models.baseline import temporal_length
from signdistill.models.ctca import CTCAConfig, CTCARecognizer, LocalTCN, drop_frames
from signdistill.models.registry import MODEL_BUILDERS, build_recognizer

V, TEXT = 6, 10  # classes (blank + 5 glosses), gloss embedding width
CONF = Path(__file__).resolve().parents[2] / "conf"
TINY = {"width": 4, "tcn_channels": 16, "lstm_hidden": 8}  # the configured rows' switches on a fast network


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(embeddings: bool = True, **kw) -> CTCARecognizer:
    torch.manual_seed(0)
    config = CTCAConfig(num_classes=V, width=4, tcn_channels=16, lstm_hidden=8, **kw)
    return CTCARecognizer(config, torch.randn(V, TEXT) if embeddings else None)


def batch(frames=(20, 15), labels=True) -> dict:
    g = torch.Generator().manual_seed(1)
    out = {"video": torch.randint(0, 255, (len(frames), max(frames), 16, 16, 3), dtype=torch.uint8, generator=g),
           "lengths": torch.tensor(frames), "ids": [str(i) for i in range(len(frames))]}
    if labels:
        out |= {"labels": torch.tensor([1, 2, 3, 4, 5]), "label_lengths": torch.tensor([3, 2])}
    return out


def test_training_forward_shapes_losses_and_backward():
    model = tiny()
    out = model(batch())
    assert out["out_lengths"].tolist() == [10, 8]  # every second frame: ceil(T / 2)
    assert out["log_probs"].shape == out["loc_log_probs"].shape == (2, 10, V)
    assert set(out["losses"]) == {"ctc", "ctc_loc", "l2g", "g2l", "rc", "cmd"}
    assert all(torch.isfinite(v) for v in out["losses"].values())
    sum(out["losses"].values()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []  # SPM, both branches, both classifiers and the CMD projections all learn


def test_inference_runs_only_the_global_path():
    model = tiny().eval()
    calls = []
    model.tcn.register_forward_hook(lambda *_: calls.append(1))
    b = batch(labels=False)
    with torch.no_grad():
        out = model(b)
        exported = model.export()(b)
    assert calls == [] and "losses" not in out and "loc_log_probs" not in out
    torch.testing.assert_close(out["log_probs"], exported["log_probs"])
    assert not model.export().training


def test_inference_path_is_smaller_than_the_training_path():
    model = tiny().eval()
    exported = model.export()
    assert count_parameters(exported) < count_parameters(model)
    assert count_macs(exported, (batch(labels=False),)) < count_macs(model, (batch(),))
    tcn = count_parameters(model.tcn) + count_parameters(model.local_classifier) + count_parameters(model.cmd)
    assert count_parameters(model) - count_parameters(exported) == tcn


def test_drop_frames_keeps_half():
    video = torch.arange(7)[None, :, None, None, None].expand(2, 7, 1, 1, 1).clone()
    kept, lengths = drop_frames(video, torch.tensor([7, 4]), 2, training=False)
    assert lengths.tolist() == [4, 2]
    assert kept[0].flatten().tolist() == [0, 2, 4, 6] and kept[1, :2].flatten().tolist() == [0, 2]
    torch.manual_seed(0)
    kept, lengths = drop_frames(video, torch.tensor([7, 4]), 2, training=True)
    first = kept[0].flatten().tolist()
    assert lengths.tolist() == [4, 2] and first == sorted(set(first)) and max(first) < 7
    assert max(kept[1, :2].flatten().tolist()) < 4  # never a padding frame
    same, same_len = drop_frames(video, torch.tensor([7, 4]), 1, training=True)
    assert same is video and same_len.tolist() == [7, 4]


def test_local_tcn_keeps_the_length_and_has_paper_layers():
    tcn = LocalTCN(8, 16, layers=3, kernel=3)
    assert tcn(torch.randn(2, 11, 8)).shape == (2, 11, 16)
    convs = [m for m in tcn.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.kernel_size[0], c.stride[0]) for c in convs] == [(3, 1)] * 3
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in tcn.modules()) == 3


def configured_rows() -> dict[str, dict]:
    """The ``model`` block of every CTCA run in ``conf/base`` (``ctca`` and Table 5's rows), as Kedro loads it."""
    loader = OmegaConfigLoader(conf_source=str(CONF), base_env="base", default_run_env="base")
    return {name: dict(run["recognizer"]["model"]) for name, run in loader["parameters"].items()
            if isinstance(run, dict) and run.get("recognizer", {}).get("kind") == "ctca"}


def test_configured_rows_switch_the_loss_terms():
    """Each configured Table 5 row trains with both CTCs and the distillation terms its switches name, and the
    rows cover the table: SDPN alone, A to E, A without the intersection, D without the entropy weight."""
    # 24 frames: the configured shared TAM (K5-P2-K5-P2) needs 16 to keep one step
    b = batch((24,)) | {"labels": torch.tensor([1, 2]), "label_lengths": torch.tensor([2])}
    terms = {}
    for name, model in configured_rows().items():
        torch.manual_seed(0)
        net = build_recognizer("ctca", V, {**model, **TINY}, gloss_embeddings=torch.randn(V, TEXT))
        config = net.config
        terms[name] = {t for t in ("l2g", "g2l", "rc", "cmd") if getattr(config, t)}
        assert set(net(b)["losses"]) == {"ctc", "ctc_loc"} | terms[name], name
        terms[name] |= {flag for flag, off in (("no_intersection", not config.intersection),
                                               ("no_entropy_weight", not config.entropy_weight)) if off}
    expected_rows = [set(), {"l2g"}, {"g2l"}, {"l2g", "g2l"}, {"l2g", "g2l", "rc"}, {"cmd"},
                     {"l2g", "g2l", "rc", "cmd"}, {"l2g", "no_intersection"}, {"l2g", "g2l", "rc", "no_entropy_weight"}]
    assert all(row in terms.values() for row in expected_rows), terms


def test_cmd_needs_embeddings_of_the_vocabulary():
    assert "cmd" not in tiny(embeddings=False)(batch())["losses"]
    with pytest.raises(ValueError, match="gloss embeddings"):
        CTCARecognizer(CTCAConfig(num_classes=V, width=4, tcn_channels=16, lstm_hidden=8), torch.randn(V + 1, TEXT))
    with pytest.raises(ValueError, match="channel by channel"):
        CTCARecognizer(CTCAConfig(num_classes=V, width=4, tcn_channels=16, lstm_hidden=4))


def test_embeddings_are_saved_with_the_model():
    model = tiny()
    assert "gloss_embeddings" in model.state_dict()
    other = tiny()
    other.load_state_dict(model.state_dict())
    torch.testing.assert_close(other.gloss_embeddings, model.gloss_embeddings)


def test_profile_builder_is_the_inference_network():
    net, inputs = MODEL_BUILDERS["ctca"](resolution=32, frames=24, vocab=V, channels=4)
    with torch.no_grad():
        out = net(*inputs)
    assert out["out_lengths"].tolist() == [math.ceil(24 / 2)] and out["log_probs"].shape == (1, 12, V)
    assert not hasattr(net, "tcn")


def test_every_configured_ctca_run_trains_exactly_its_table_5_terms() -> None:
    """conf/base/parameters_ctca.yml: each run builds as the training recipe builds it (gloss embeddings from
    the shipped text encoder when cmd is on) and returns the loss terms of its Table 5 row, all weighted."""
    from pathlib import Path

    import yaml

    from signdistill.data.vocabulary import Vocabulary
    from signdistill.models.registry import build_recognizer
    from signdistill.training.recipes import model_inputs

    conf = yaml.safe_load((Path(__file__).resolve().parents[2] / "conf/base/parameters_ctca.yml").read_text())
    vocab = Vocabulary(("CLOUD", "RAIN", "SNOW", "SUN", "WIND"))
    for run in (name for name in conf if not name.startswith("_")):
        params = conf[run]["recognizer"]
        model_params = {**params["model"], "width": 4, "tcn_channels": 16, "lstm_hidden": 8}
        model = build_recognizer("ctca", len(vocab), model_params, **model_inputs("ctca", model_params, vocab))
        switches = {term: params["model"][term] for term in ("l2g", "g2l", "rc", "cmd")}
        losses = model.train()(batch((32, 28)))["losses"]  # the shared TAM keeps a quarter: room for 3 glosses
        assert set(losses) == {"ctc", "ctc_loc"} | {term for term, on in switches.items() if on}, run
        assert set(losses) <= set(params["train"]["loss_weights"]), run
        assert all(torch.isfinite(v) for v in losses.values()), run
    assert conf["ctca"]["recognizer"]["model"]["cmd"]  # the full method includes the cross-modality term


def test_local_aggregation_diagnostic_sits_before_the_bilstm_and_is_exported():
    """A diagnostic (not the paper's network, which has none): convs between the SPM and the BLSTM;
    padding frames do not reach the valid ones, and the inference path carries the convs."""
    model = tiny(local_aggregation=2).eval()
    assert tiny().aggregate is None and count_parameters(model) > count_parameters(tiny())
    b = batch(frames=(20, 12), labels=False)
    with torch.no_grad():
        out = model(b)
        torch.testing.assert_close(out["log_probs"], model.export()(b)["log_probs"])
        b["video"][1, 12:] = 255  # what lies past a clip's end changes nothing
        torch.testing.assert_close(model(b)["log_probs"][1, :6], out["log_probs"][1, :6])


def test_shared_tam_puts_the_baselines_temporal_module_under_both_branches():
    """The shared TAM (not the paper's network): the baseline's K5-P2-K5-P2 between the SPM and both branches.
    Both branches then read T/4 steps of one sequence (so the frame-by-frame terms still line up), the inference
    path is the baseline's network, and padding frames do not reach the valid ones."""
    model = tiny(shared_tam=12, frame_stride=1)
    out = model.train()(batch(frames=(40, 30)))
    expected = temporal_length(torch.tensor([40, 30])).tolist()
    assert out["out_lengths"].tolist() == expected and model.temporal_stride == 4
    assert out["loc_log_probs"].shape[:2] == out["log_probs"].shape[:2]
    assert all(torch.isfinite(v) for v in out["losses"].values())
    sum(out["losses"].values()).backward()
    assert model.shared.net[0].weight.grad.abs().sum() > 0
    model.eval()
    b = batch(frames=(40, 28), labels=False)
    with torch.no_grad():
        ref = model(b)
        torch.testing.assert_close(ref["log_probs"], model.export()(b)["log_probs"])
        n = int(ref["out_lengths"][1])
        b["video"][1, 28:] = 255  # what lies past a clip's end changes nothing
        torch.testing.assert_close(model(b)["log_probs"][1, :n], ref["log_probs"][1, :n])
