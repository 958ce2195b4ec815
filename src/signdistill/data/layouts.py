"""The annotation files of each supported corpus layout (PHOENIX-2014, PHOENIX-2014-T, CSL-Daily, video CSV),
parsed into rows (``Entry``) whose frames ``data.corpora`` then checks, and the detection of a root's layout."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from signdistill.data.frames import VIDEO_EXTENSIONS, is_video_file
from signdistill.data.records import SPLITS, Problem
from signdistill.errors import InputError, MissingInputError

PHOENIX_FRAMES = Path("features") / "fullFrame-210x260px"
CSL_FRAMES = Path("sentence") / "frames_512x512"
MANUAL = Path("annotations") / "manual"

_GLOB_CHARS = re.compile(r"[*?\[]")
_CSL_SIGNER = re.compile(r"^P\d+$")


@dataclass(frozen=True)
class Entry:
    """An annotation row before its frames are checked; ``sources`` are candidates, best first."""

    id: str
    split: str
    signer: str
    annotation: str
    sources: tuple[Path, ...]
    table: Path
    line: int


@dataclass(frozen=True)
class _Table:
    """Rows of one pipe-separated annotation file, keyed by header name, with their line numbers."""

    path: Path
    rows: list[tuple[int, dict[str, str]]]
    problems: list[Problem]


# --------------------------------------------------------------------------- annotation files


def _read_table(path: Path, split: str, required: Sequence[str], id_column: str) -> _Table:
    """Parse a ``|``-separated file with a header line; bad files and rows become problems."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        return _Table(path, [], [Problem("*", split, str(path), "split file is missing")])
    except (OSError, UnicodeDecodeError) as error:
        return _Table(path, [], [Problem("*", split, str(path), f"split file cannot be read ({error})")])
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        return _Table(path, [], [Problem("*", split, str(path), "split file is empty (no header line)")])
    header = [name.strip() for name in numbered[0][1].split("|")]
    missing = [name for name in required if name not in header]
    if missing:
        reason = f"header lacks column(s) {', '.join(missing)} (found {'|'.join(header)})"
        return _Table(path, [], [Problem("*", split, str(path), reason)])
    rows, problems = [], []
    id_index = header.index(id_column)
    for number, line in numbered[1:]:
        fields = [field.strip() for field in line.split("|")]
        if len(fields) != len(header):
            has_id = len(fields) > max(id_index, 1) and fields[id_index]
            row_id = fields[id_index] if has_id else f"line {number}"
            reason = (
                f"malformed row at line {number}: expected {len(header)} '|'-separated fields, "
                f"found {len(fields)}"
            )
            problems.append(Problem(row_id, split, str(path), reason))
            continue
        rows.append((number, dict(zip(header, fields, strict=True))))
    return _Table(path, rows, problems)


def _require_dir(path: Path, what: str) -> Path:
    """Fail early, naming the path, when the part of the corpus that holds annotations is absent."""
    if not path.exists():
        raise MissingInputError(f"{what} not found: {path}")
    if not path.is_dir():
        raise InputError(f"{what} is not a directory: {path}")
    return path


def _require_any(paths: Sequence[Path], what: str) -> None:
    """Raise when none of a layout's split files exists: there is nothing to read at all."""
    if not any(path.is_file() for path in paths):
        looked = ", ".join(str(path) for path in paths)
        raise MissingInputError(f"no {what} found (looked for {looked})")


def _strip_glob(folder: str) -> str:
    """``<id>/1/*.png`` -> ``<id>/1``: the folder part of a PHOENIX frame glob."""
    parts = [part for part in folder.replace("\\", "/").split("/") if part]
    if parts and _GLOB_CHARS.search(parts[-1]):
        parts = parts[:-1]
    return "/".join(parts)


def _under(base: Path, relative: str) -> Path | None:
    """``base / relative``, or ``None`` for an empty CSV cell (which would name ``base`` itself)."""
    return base / relative if relative else None


def _candidates(*paths: Path | None) -> tuple[Path, ...]:
    """Unique, non-empty candidate sources in order of preference."""
    return tuple(dict.fromkeys(path for path in paths if path is not None))


# --------------------------------------------------------------------------- layouts


def _phoenix2014(root: Path) -> tuple[list[Entry], list[Problem]]:
    """PHOENIX-2014 (and SynthSign): ``<split>.corpus.csv`` with ``id|folder|signer|annotation``."""
    manual = _require_dir(root / MANUAL, "annotation folder")
    files = {split: manual / f"{split}.corpus.csv" for split in SPLITS}
    _require_any(list(files.values()), "PHOENIX-2014 split files")
    entries, problems = [], []
    for split, path in files.items():
        table = _read_table(path, split, ("id", "folder", "signer", "annotation"), "id")
        problems += table.problems
        base = root / PHOENIX_FRAMES / split
        for line, row in table.rows:
            folder = _strip_glob(row["folder"])
            sources = _candidates(_under(base, folder), _under(base, row["id"]))
            entries.append(Entry(row["id"], split, row["signer"], row["annotation"], sources, path, line))
    return entries, problems


def _phoenix2014t(root: Path) -> tuple[list[Entry], list[Problem]]:
    """PHOENIX-2014-T: frames are in ``<name>/`` on disk although the CSV says ``<name>/1/*.png``."""
    manual = _require_dir(root / MANUAL, "annotation folder")
    files = {split: manual / f"PHOENIX-2014-T.{split}.corpus.csv" for split in SPLITS}
    _require_any(list(files.values()), "PHOENIX-2014-T split files")
    entries, problems = [], []
    for split, path in files.items():
        table = _read_table(path, split, ("name", "video", "speaker", "orth"), "name")
        problems += table.problems
        base = root / PHOENIX_FRAMES / split
        for line, row in table.rows:
            folder = _strip_glob(row["video"])
            sources = _candidates(_under(base, row["name"]), _under(base, folder))
            entries.append(Entry(row["name"], split, row["speaker"], row["orth"], sources, path, line))
    return entries, problems


def _csl_signer(name: str) -> str:
    """``S000000_P0000_T00`` -> ``P0000``; names without a ``P`` part have an unknown signer."""
    return next((part for part in name.split("_") if _CSL_SIGNER.match(part)), "unknown")


def _csl_splits(path: Path, problems: list[Problem]) -> dict[str, str]:
    """``name -> split`` from ``split_1.txt``; unknown split values become problems."""
    table = _read_table(path, "*", ("name", "split"), "name")
    problems += table.problems
    splits: dict[str, str] = {}
    for _, row in table.rows:
        if row["split"] in SPLITS:
            splits.setdefault(row["name"], row["split"])
        else:
            reason = f"unknown split {row['split']!r} (expected train, dev or test)"
            problems.append(Problem(row["name"] or "*", row["split"] or "*", str(path), reason))
    return splits


def _csl_daily(root: Path) -> tuple[list[Entry], list[Problem]]:
    """CSL-Daily: glosses in ``video_map.txt``, the split of each name in ``split_1.txt``."""
    video_map = root / "video_map.txt"
    if not video_map.is_file():
        raise MissingInputError(f"CSL-Daily annotation file not found: {video_map}")
    problems: list[Problem] = []
    splits = _csl_splits(root / "split_1.txt", problems)
    table = _read_table(video_map, "*", ("name", "gloss"), "name")
    problems += [replace(problem, split=splits.get(problem.id, "*")) for problem in table.problems]
    rows = {row["name"]: (line, row) for line, row in table.rows}
    entries = []
    for name, split in splits.items():
        if name not in rows:
            reason = "listed in split_1.txt but not in video_map.txt"
            problems.append(Problem(name, split, str(video_map), reason))
            continue
        line, row = rows[name]
        source = root / CSL_FRAMES / name
        entries.append(Entry(name, split, _csl_signer(name), row["gloss"], (source,), video_map, line))
    entries.sort(key=lambda entry: SPLITS.index(entry.split))
    return entries, problems


def _video_csv_folder(root: Path) -> Path:
    """Where the video CSVs are: the root itself, else ``annotations/manual``."""
    if any((root / f"{split}.corpus.csv").is_file() for split in SPLITS):
        return root
    return root / MANUAL


def _video_csv(root: Path) -> tuple[list[Entry], list[Problem]]:
    """PHOENIX-2014-shaped CSVs whose ``folder`` column names a video (absolute, or relative to the
    corpus root or to the CSV's folder)."""
    folder = _video_csv_folder(root)
    files = {split: folder / f"{split}.corpus.csv" for split in SPLITS}
    _require_any(list(files.values()), "video CSV split files")
    entries, problems = [], []
    for split, path in files.items():
        table = _read_table(path, split, ("id", "folder", "signer", "annotation"), "id")
        problems += table.problems
        for line, row in table.rows:
            video = Path(row["folder"]) if row["folder"] else None
            sources = () if video is None else _candidates(root / video, path.parent / video)
            entries.append(Entry(row["id"], split, row["signer"], row["annotation"], sources, path, line))
    return entries, problems


READERS = {
    "phoenix2014": _phoenix2014,
    "phoenix2014t": _phoenix2014t,
    "csl_daily": _csl_daily,
    "video_csv": _video_csv,
}


# --------------------------------------------------------------------------- detection


def check_root(root: Path | str) -> Path:
    """The corpus root as a Path, or an error naming it."""
    return _require_dir(Path(root), "corpus root")


def _folder_column_names_videos(csv_path: Path, max_rows: int = 20) -> bool:
    """True when the first rows' ``folder`` values end in a video extension."""
    table = _read_table(csv_path, "*", ("folder",), "folder")
    folders = [row["folder"] for _, row in table.rows[:max_rows] if row["folder"]]
    return bool(folders) and any(is_video_file(Path(folder)) for folder in folders)


def detect_layout(root: Path) -> str:
    """Name of the layout whose annotation files are present under ``root``.

    Raises ``ValueError`` naming what was looked for when nothing matches.
    """
    root = check_root(root)
    manual = root / MANUAL
    if any((manual / f"PHOENIX-2014-T.{split}.corpus.csv").is_file() for split in SPLITS):
        return "phoenix2014t"
    if (root / "video_map.txt").is_file():
        return "csl_daily"
    for folder in (manual, root):
        csvs = [path for path in (folder / f"{split}.corpus.csv" for split in SPLITS) if path.is_file()]
        if not csvs:
            continue
        if _folder_column_names_videos(csvs[0]):
            return "video_csv"
        if folder == manual and (root / "features").is_dir():
            return "phoenix2014"
        raise InputError(
            f"{csvs[0]} looks like a PHOENIX-2014 CSV, but its folder column names no video file "
            f"({', '.join(VIDEO_EXTENSIONS)}) and {root / 'features'} does not exist"
        )
    raise InputError(
        f"no known corpus layout under {root}: expected annotations/manual/PHOENIX-2014-T.<split>.corpus.csv "
        "(phoenix2014t), video_map.txt (csl_daily), annotations/manual/<split>.corpus.csv with features/ "
        "(phoenix2014), or <split>.corpus.csv naming video files (video_csv)"
    )
