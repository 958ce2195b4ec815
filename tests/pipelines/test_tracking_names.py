"""What the MLflow runs are tagged and named: the command as typed, readable tags, WERs named by decoder."""

from __future__ import annotations

from kedro.runner import SequentialRunner

from signdistill.pipelines.tracking import decoder_name, epoch_metric, kedro_command, readable_tags, wer_metrics


def test_kedro_command_is_the_command_as_typed() -> None:
    argv = ["/venv/bin/kedro", "run", "--pipelines", "ablations_smkd", "--env", "quick",
            "--params", "smkd_ws.recognizer.train.lr=0.01"]
    assert kedro_command({}, argv) == ("kedro run --pipelines ablations_smkd --env quick "
                                       "--params smkd_ws.recognizer.train.lr=0.01")


def test_a_session_from_python_gets_the_equivalent_command() -> None:
    run_params = {"pipeline_names": ["smkd"], "namespaces": ["smkd_ws"], "env": "quick",
                  "runtime_params": {"smkd_ws": {"recognizer": {"train": {"epochs": 3}}}}}
    assert kedro_command(run_params, ["pytest", "-q"]) == (
        "kedro run --pipelines smkd --namespaces smkd_ws --env quick --params smkd_ws.recognizer.train.epochs=3")


def test_tags_are_readable() -> None:
    tags = readable_tags({"runner": str(SequentialRunner()), "pipeline_names": ["a", "b"], "tags": None,
                          "runtime_params": {"x": 1}, "env": "quick"})
    assert tags == {"runner": "SequentialRunner", "pipeline_names": "a,b", "runtime_params": '{"x": 1}',
                    "env": "quick"}
    assert readable_tags({"runner": "None"}) == {"runner": "SequentialRunner"}  # none given: the default


def test_wer_names_say_their_decoder() -> None:
    assert epoch_metric("dev_wer") == "dev_wer_greedy" and epoch_metric("train_loss") == "train_loss"
    assert decoder_name({"decoder": "beam", "beam_width": 5}) == "beam5"
    assert decoder_name({"decoder": "greedy"}) == "greedy"
    final = wer_metrics({"dev_wer": {"value": 40.0, "step": 0}, "test_wer": {"value": 45.0, "step": 0}}, "beam10")
    assert final == {"final_dev_wer_beam10": 40.0, "test_wer": 45.0}


def test_the_printed_run_page_opens_in_the_model_training_view() -> None:
    from signdistill.pipelines.tracking import run_page

    assert run_page("3", "abc") == "http://127.0.0.1:5000/#/experiments/3/runs/abc?workflowType=machine_learning"
