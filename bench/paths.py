"""Where the benchmarks find the repository and the public benchmark data."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "BENCH_DATA"
# The data folder's layout: BEIR SciFact and SQuAD v1.1 dev (BENCHMARKS.md, "Data").
FOLDERS = ("scifact", "squad-v1.1")


def data_folder() -> Path:
    """$BENCH_DATA, else bench/data in the repository (not committed: git ignores data/)."""
    return Path(os.environ.get(DATA_ENV) or ROOT / "bench" / "data")


def missing_data(folder: Path, needed: tuple[str, ...] = FOLDERS) -> str | None:
    """Why the benchmark data cannot be read from folder, in one line; None when it can."""
    absent = [name for name in needed if not (folder / name).is_dir()]
    if not absent:
        return None
    return (
        f"no {', '.join(f'{n}/' for n in absent)} in {folder}: put the BEIR-layout data there, "
        f"or point --data or ${DATA_ENV} at the folder that holds it (BENCHMARKS.md, 'Data')"
    )
