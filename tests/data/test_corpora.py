"""Every layout reads into the same samples; bad rows and videos become problems, never exceptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signdistill.data.corpora import (
    LAYOUTS,
    CorpusIndex,
    Problem,
    detect_layout,
    problems_to_records,
    read_corpus,
    summarise_corpus,
)
from signdistill.data.frames import FrameReadError, read_frames
from signdistill.data.vocabulary import Vocabulary

from .conftest import (
    PHOENIX_FRAMES,
    FakeCorpus,
    FakeVideo,
    make_csl_daily,
    make_phoenix2014,
    make_phoenix2014t,
    make_video_csv,
    write_table,
)


def _ids(index: CorpusIndex, split: str) -> list[str]:
    return [sample.id for sample in index.split(split)]


def _reasons(index: CorpusIndex) -> dict[str, str]:
    return {problem.id: problem.reason for problem in index.problems}


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("name", ["phoenix2014", "phoenix2014t", "csl_daily", "video_csv"])
def test_detect_layout(name: str, request: pytest.FixtureRequest) -> None:
    corpus: FakeCorpus = request.getfixturevalue(name)
    assert detect_layout(corpus.root) == name == corpus.layout
    assert read_corpus(corpus.root).layout == name
    assert name in LAYOUTS


def test_detect_layout_video_csv_in_annotations_manual(tmp_path: Path) -> None:
    make_video_csv(tmp_path, in_manual=True, bad=False)
    assert detect_layout(tmp_path) == "video_csv"


def test_detect_layout_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no known corpus layout under .*"):
        detect_layout(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing"):
        detect_layout(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="missing"):
        read_corpus(tmp_path / "missing")
    write_table(
        tmp_path / "annotations" / "manual" / "train.corpus.csv",
        "id|folder|signer|annotation",
        ["a|a/1/*.png|S|A"],
    )
    with pytest.raises(ValueError, match="features"):
        detect_layout(tmp_path)


def test_unknown_layout_and_missing_annotations(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown corpus layout 'kinetics'"):
        read_corpus(tmp_path, layout="kinetics")
    with pytest.raises(FileNotFoundError, match="annotations"):
        read_corpus(tmp_path, layout="phoenix2014")
    with pytest.raises(FileNotFoundError, match="video_map.txt"):
        read_corpus(tmp_path, layout="csl_daily")
    (tmp_path / "annotations" / "manual").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="train.corpus.csv"):
        read_corpus(tmp_path, layout="phoenix2014")


# --------------------------------------------------------------------------- PHOENIX-2014


def test_phoenix2014_samples(phoenix2014: FakeCorpus) -> None:
    index = read_corpus(phoenix2014.root)
    assert _ids(index, "train") == ["tr-1", "tr-2", "tr-3"]
    assert _ids(index, "dev") == ["dv-1", "dv-2", "dv-corrupt"]  # a corrupt frame is read_frames' business
    assert _ids(index, "test") == ["te-1"]
    first = index.split("train")[0]
    assert first.glosses == ("A", "B", "C") and first.annotation == "A B  C"
    assert first.signer == "Signer01" and first.num_frames == 3
    assert first.source == phoenix2014.root / PHOENIX_FRAMES / "train" / "tr-1" / "1"
    assert index.split("train")[1].num_frames == 4  # .jpg frames although the CSV glob says *.png


def test_phoenix2014_problems(phoenix2014: FakeCorpus) -> None:
    index = read_corpus(phoenix2014.root)
    root = phoenix2014.root
    assert _reasons(index) == {
        "tr-short": "malformed row at line 8: expected 4 '|'-separated fields, found 3",
        "line 9": "malformed row at line 9: expected 4 '|'-separated fields, found 1",
        "tr-missing": "frame folder does not exist",
        "tr-noann": "empty annotation",
        "tr-empty": "frame folder contains no .png/.jpg/.jpeg frames",
    }
    by_id = {problem.id: problem for problem in index.problems}
    folder = str(root / PHOENIX_FRAMES / "train" / "tr-missing" / "1")
    assert by_id["tr-missing"] == Problem("tr-missing", "train", folder, "frame folder does not exist")
    assert by_id["tr-short"].path == str(root / "annotations" / "manual" / "train.corpus.csv")
    assert {problem.split for problem in index.problems} == {"train"}


def test_phoenix2014_without_frame_checks(phoenix2014: FakeCorpus) -> None:
    index = read_corpus(phoenix2014.root, check_frames=False)
    assert _ids(index, "train") == ["tr-1", "tr-2", "tr-3", "tr-missing", "tr-empty"]
    assert all(sample.num_frames is None for sample in index.samples)
    assert set(_reasons(index)) == {"tr-short", "line 9", "tr-noann"}


def test_phoenix2014_missing_split_file_and_bad_header(tmp_path: Path) -> None:
    make_phoenix2014(tmp_path, bad=False, splits=("train", "dev"))
    index = read_corpus(tmp_path)
    assert len(index.samples) == 5 and _ids(index, "test") == []
    csv = tmp_path / "annotations/manual/test.corpus.csv"
    assert index.problems == [Problem("*", "test", str(csv), "split file is missing")]
    write_table(tmp_path / "annotations/manual/test.corpus.csv", "id|path|annotation", ["x|y|A"])
    (problem,) = read_corpus(tmp_path).problems
    assert problem.id == "*" and problem.reason.startswith("header lacks column(s) folder, signer")
    assert problem.path == str(csv)


def test_empty_and_unreadable_split_files_are_problems_naming_the_file(tmp_path: Path) -> None:
    make_phoenix2014(tmp_path, bad=False, splits=("train", "dev", "test"))
    csv = tmp_path / "annotations/manual/test.corpus.csv"
    csv.write_bytes(b"")
    assert read_corpus(tmp_path).problems == [Problem("*", "test", str(csv), "split file is empty (no header line)")]
    csv.write_bytes(b"id|folder|signer|annotation\n\xff\xfe\xfa|x|y|A\n")
    (problem,) = read_corpus(tmp_path).problems
    assert (problem.id, problem.split, problem.path) == ("*", "test", str(csv))
    assert problem.reason.startswith("split file cannot be read") and "utf-8" in problem.reason


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    corpus = make_phoenix2014(tmp_path, bad=False)
    csv = tmp_path / "annotations/manual/test.corpus.csv"
    csv.write_text(csv.read_text() + "tr-1|tr-1/1/*.png|Signer01|A\n")
    index = read_corpus(corpus.root)
    assert _ids(index, "test") == ["te-1"]
    reason = "duplicate id (already used in the train split); first occurrence kept"
    assert _reasons(index) == {"tr-1": reason}


def test_read_frames_of_samples(phoenix2014: FakeCorpus) -> None:
    index = read_corpus(phoenix2014.root)
    for sample in index.samples:
        if sample.id == "dv-corrupt":
            with pytest.raises(FrameReadError, match="images0003.png"):
                read_frames(sample.source)
        else:
            frames = read_frames(sample.source)
            assert frames.shape == (sample.num_frames, 6, 8, 3)
            assert frames[..., 0].min() > 200


def test_vocabulary_from_train_split(phoenix2014: FakeCorpus) -> None:
    index = read_corpus(phoenix2014.root)
    vocab = Vocabulary.from_sequences(sample.glosses for sample in index.split("train"))
    assert vocab.glosses == ("A", "B", "C") and len(vocab) == 4
    assert vocab.encode(index.split("train")[0].glosses) == [1, 2, 3]
    assert vocab.unknown(index.split("dev")[1].glosses) == ["E"]


# --------------------------------------------------------------------------- PHOENIX-2014-T


@pytest.mark.parametrize("one_dir", [False, True])
def test_phoenix2014t_with_and_without_one_folder(tmp_path: Path, one_dir: bool) -> None:
    make_phoenix2014t(tmp_path, one_dir=one_dir)
    index = read_corpus(tmp_path)
    assert index.layout == "phoenix2014t"
    assert (_ids(index, "train"), _ids(index, "dev"), _ids(index, "test")) == (
        ["tr-1", "tr-2", "tr-3"],
        ["dv-1", "dv-2", "dv-corrupt"],
        ["te-1"],
    )
    first = index.split("train")[0]
    folder = tmp_path / PHOENIX_FRAMES / "train" / "tr-1"
    assert first.source == (folder / "1" if one_dir else folder)
    assert first.num_frames == 3 and first.signer == "Signer01" and first.glosses == ("A", "B", "C")
    assert _reasons(index) == {
        "tr-short": "malformed row at line 8: expected 7 '|'-separated fields, found 5",
        "tr-missing": "frame folder does not exist",
        "tr-noann": "empty annotation",
        "tr-empty": "frame folder contains no .png/.jpg/.jpeg frames",
    }
    missing = next(problem for problem in index.problems if problem.id == "tr-missing")
    assert missing.path == str(tmp_path / PHOENIX_FRAMES / "train" / "tr-missing")


# --------------------------------------------------------------------------- CSL-Daily


def test_csl_daily(csl_daily: FakeCorpus) -> None:
    index = read_corpus(csl_daily.root)
    assert _ids(index, "train") == ["S000000_P0000_T00", "S000001_P0001_T00", "custom_name"]
    assert _ids(index, "dev") == ["S000002_P0003_T00"] and _ids(index, "test") == ["S000003_P0000_T01"]
    assert [sample.signer for sample in index.split("train")] == ["P0000", "P0001", "unknown"]
    first = index.split("train")[0]
    assert first.glosses == ("我", "想", "买", "东西") and first.num_frames == 3
    assert first.source == csl_daily.root / "sentence/frames_512x512/S000000_P0000_T00"
    assert read_frames(first.source).shape == (3, 6, 8, 3)
    assert _reasons(index) == {
        "S000004_P0002_T00": "frame folder does not exist",
        "S999999_P0009_T00": "listed in split_1.txt but not in video_map.txt",
        "S000005_P0001_T00": "unknown split 'val' (expected train, dev or test)",
    }
    splits = {problem.id: problem.split for problem in index.problems}
    assert splits == {"S000004_P0002_T00": "train", "S999999_P0009_T00": "test", "S000005_P0001_T00": "val"}


def test_csl_daily_missing_split_file(tmp_path: Path) -> None:
    make_csl_daily(tmp_path, bad=False)
    (tmp_path / "split_1.txt").unlink()
    index = read_corpus(tmp_path, layout="csl_daily")
    assert index.samples == []
    assert index.problems == [Problem("*", "*", str(tmp_path / "split_1.txt"), "split file is missing")]


# --------------------------------------------------------------------------- video CSV


def test_video_csv(video_csv: FakeCorpus) -> None:
    index = read_corpus(video_csv.root)
    assert _ids(index, "train") == ["v-tr-1", "v-tr-2"]
    assert _ids(index, "dev") == ["v-dv-1"] and _ids(index, "test") == ["v-te-1"]
    assert [sample.num_frames for sample in index.samples] == [3, 4, 2, 3]
    reasons = _reasons(index)
    assert reasons == {
        "v-tr-missing": "video file does not exist",
        "v-tr-corrupt": "video cannot be opened (corrupt or unsupported format)",
        "v-tr-zero": "video has no frames",
    }
    sample = index.split("train")[0]
    assert sample.source.is_file() and sample.source.parent == video_csv.root / "videos"
    frames = read_frames(sample.source)
    assert frames.shape == (3, 6, 8, 3) and frames[..., 0].min() > 200


@pytest.mark.parametrize("relative_to", ["csv", "absolute", "root"])
def test_video_csv_paths_in_annotations_manual(tmp_path: Path, relative_to: str) -> None:
    make_video_csv(tmp_path, bad=False, in_manual=True, relative_to=relative_to)
    index = read_corpus(tmp_path, layout="video_csv")
    assert index.problems == [] and len(index.samples) == 4
    assert all(sample.source.is_file() for sample in index.samples)


# --------------------------------------------------------------------------- summary


def test_summarise_phoenix2014(phoenix2014: FakeCorpus) -> None:
    summary = summarise_corpus(phoenix2014.root, downsample=1, context=0)  # a model that keeps every frame
    assert json.loads(json.dumps(summary)) == summary
    assert summary["layout"] == "phoenix2014" and summary["root"] == str(phoenix2014.root)
    assert summary["samples"] == {"train": 3, "dev": 3, "test": 1}
    assert summary["total_samples"] == 7
    assert summary["frames_per_video"] == {
        "train": {"min": 3, "mean": 4.0, "max": 5},
        "dev": {"min": 2, "mean": 2.667, "max": 3},
        "test": {"min": 4, "mean": 4.0, "max": 4},
    }
    assert summary["glosses_per_sentence"]["train"] == {"min": 1, "mean": 2.0, "max": 3}
    assert summary["vocabulary_size"] == 3 and summary["num_classes"] == 4
    assert summary["unknown_glosses"] == {"dev": {"E": 2, "D": 1}, "test": {}}
    assert summary["signers"] == {
        "train": {"Signer01": 2, "Signer02": 1},
        "dev": {"Signer01": 1, "Signer03": 2},
        "test": {"Signer02": 1},
    }
    assert summary["problem_count"] == 6
    assert {record["id"] for record in summary["problems"]} == {
        "tr-short",
        "line 9",
        "tr-missing",
        "tr-noann",
        "tr-empty",
        "dv-2",  # E E B: CTC needs a blank between the two E, 4 steps from 3 frames
    }


def test_summary_names_a_video_too_short_for_its_label(tmp_path: Path) -> None:
    """Two frames labelled with 11 glosses: the embedded models' K5-P2-K5-P2 leaves no output step for them."""
    glosses = " ".join(f"G{i}" for i in range(11))
    fake = make_phoenix2014t(tmp_path, {"train": [FakeVideo("long-label", glosses, "Signer01", 2),
                                                  FakeVideo("fine", "G0 G1", "Signer01", 24)]}, bad=False)
    summary = summarise_corpus(fake.root)
    assert [p["id"] for p in summary["problems"]] == ["long-label"] and summary["problem_count"] == 1
    assert "2 frames give 0 steps" in summary["problems"][0]["reason"]
    assert "CTC needs 11 for 11 glosses" in summary["problems"][0]["reason"]


def test_summarise_empty_split_and_videos(tmp_path: Path) -> None:
    make_video_csv(tmp_path, bad=False)
    (tmp_path / "test.corpus.csv").unlink()
    summary = summarise_corpus(tmp_path, downsample=1, context=0)
    assert summary["layout"] == "video_csv"
    assert summary["frames_per_video"]["train"] == {"min": 3, "mean": 3.5, "max": 4}
    assert summary["frames_per_video"]["test"] == {"min": None, "mean": None, "max": None}
    assert summary["unknown_glosses"]["dev"] == {"D": 1}
    assert summary["problem_count"] == 1 and summary["problems"][0]["reason"] == "split file is missing"


def test_problems_to_records() -> None:
    records = problems_to_records([Problem("a", "dev", "/x", "empty annotation")])
    assert records == [{"id": "a", "split": "dev", "path": "/x", "reason": "empty annotation"}]


def test_rows_without_id_or_video_and_windows_line_endings(tmp_path: Path) -> None:
    make_video_csv(tmp_path, bad=False)
    csv = tmp_path / "dev.corpus.csv"
    text = "\ufeff" + csv.read_text() + "|videos/x.avi|S|A\nv-dv-2||Signer01|A B\n"
    csv.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    index = read_corpus(tmp_path)
    assert _ids(index, "dev") == ["v-dv-1"]
    assert _reasons(index) == {
        "line 3": "empty id at line 3",
        "v-dv-2": "row names no frame folder or video file",
    }
