"""The KGX export (``poems-kg export --format kgx``): seconds and peak memory, beside the N-Quads export of the same
store (its RDF dump), measured in the same run. ``python -m bench kgx`` on the seed; ``whole-file`` ends with it on
the whole of HPO's annotation file."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kg.settings import get_settings
from kg.store import OxigraphStore

POEMS_KG = Path(sys.executable).parent / "poems-kg"


def _run(arguments: list[str]) -> tuple[float, float]:
    """Seconds and peak resident memory (MiB) of one command, as the kernel accounts for the process."""
    started = time.perf_counter()
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        raise RuntimeError(f"{' '.join(arguments)} failed: {process.stderr.read().decode() if process.stderr else status}")
    return seconds, usage.ru_maxrss / 1024


def export_figures(store: Path, label: str, repeat: int) -> None:
    """Print the medians of ``repeat`` KGX and N-Quads exports of the on-disk ``store``."""
    with tempfile.TemporaryDirectory(prefix="poems-kg-kgx-") as tmp:
        runs = {fmt: [_run([str(POEMS_KG), "export", "--store", str(store), "--format", fmt, "--out",
                            str(Path(tmp) / fmt)]) for _ in range(repeat)] for fmt in ("kgx", "nquads")}
        edges = sum(1 for _ in (Path(tmp) / "kgx" / "edges.jsonl").open(encoding="utf-8"))
    (kgx_s, kgx_mb), (nq_s, nq_mb) = ((statistics.median(s for s, _ in r), max(m for _, m in r)) for r in runs.values())
    print(f"KGX export, {label}: {edges:,} edges in {kgx_s:.2f} s (median of {repeat}), peak {kgx_mb:,.0f} MB; "
          f"N-Quads export of the same store {nq_s:.2f} s, {nq_mb:,.0f} MB (ratio {kgx_s / nq_s:.2f} in time, "
          f"{kgx_mb / nq_mb:.2f} in memory)")


def kgx(repeat: int) -> None:
    """The KGX export of the seed."""
    from pipeline.build import build

    settings = get_settings()
    seed = build(settings.kg_dir, settings.base_iri)
    with tempfile.TemporaryDirectory(prefix="poems-kg-seed-") as tmp:
        store = OxigraphStore(Path(tmp) / "store")
        store.load(seed.quads)
        del store
        export_figures(Path(tmp) / "store", "seed", repeat)
