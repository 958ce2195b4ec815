"""Rebuild the default corpus' frame stores on a machine without Kedro or MediaPipe (the GPU box).

SynthSign is deterministic in its seed, so the frames equal this machine's (the script prints a checksum per
size to compare). The index, vocabulary and feature store (flow, keypoints: MediaPipe is not there) are
carried from a machine that ran the `features` pipeline and unpacked under DATA first.

usage: PYTHONPATH=src python3 tools/gpu/rebuild_default_corpus.py DATA SIZES WORKERS  (e.g. /tmp/sd/data 40,64 16)
"""

import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from signdistill.data.corpora import read_corpus
from signdistill.data.store import FrameStore, build_frame_store
from signdistill.synth.corpus import generate_corpus, get_preset


def main(data: Path, sizes: list[int], workers: int) -> None:
    start = time.time()
    generate_corpus(data / "01_raw/synthsign", get_preset("default"), seed=0, workers=workers, progress=False)
    print(f"corpus {time.time() - start:.0f} s", flush=True)
    keep = set(pd.read_csv(data / "02_intermediate/corpus_index.csv").id)
    samples = [s for s in read_corpus(data / "01_raw/synthsign").samples if s.id in keep]
    summary, problems = build_frame_store(samples, sizes, data / "03_primary/frame_store",
                                          data / "02_intermediate/frame_cache", workers=workers, progress=False)
    print(f"stores {time.time() - start:.0f} s", summary, len(problems), "problems", flush=True)
    store = FrameStore(data / "03_primary/frame_store")
    for size in sizes:
        split = store.split(size, "dev")
        video = split.ids()[0]
        digest = hashlib.md5(np.ascontiguousarray(split[video]).tobytes()).hexdigest()
        print("checksum", size, video, digest, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), [int(s) for s in sys.argv[2].split(",")], int(sys.argv[3]))
