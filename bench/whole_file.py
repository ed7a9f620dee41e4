"""The whole of HPO's annotation file (``bench/hpoa-all``: every disease, every phenotype row) through the streaming
build (``poems-kg build-store``): seconds, rows per second and peak memory of each stage, against the goal (15 minutes,
4 GB) and against two peers measured in the same run: pyshacl as it comes on the same claims (one claim per run, and
in the gate's batches), and Oxigraph's own command line loading the same N-Quads.
"""

import contextlib
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil
from pyoxigraph import RdfFormat, Store

from bench.kgx import export_figures
from bench.sparql import BIN
from kg.compile import curated_in, curation_quads, nanopublication
from kg.namespaces import DEFAULT_BASE_IRI, Namespaces
from kg.settings import PACKAGE_ROOT
from kg.store import OxigraphStore
from pipeline.readers.folder import load_all, load_sources
from pipeline.stream import build_stream
from shapes.validate import BATCH, nanopublication_quads, per_focus_node, validate_claims

WHOLE_FILE = PACKAGE_ROOT / "bench" / "hpoa-all"
GOAL_SECONDS, GOAL_BYTES = 15 * 60, 4 * 1024**3
NS = Namespaces(DEFAULT_BASE_IRI)


class Peaks:
    """Peak memory of this process and its children (proportional set size: shared pages counted once), by stage."""

    def __init__(self) -> None:
        self.stage, self.peaks, self._stop = "start", dict[str, int](), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.5):
            total = 0
            for process in (me, *me.children(recursive=True)):
                try:
                    total += process.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), total)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _gate_peer(store_dir: Path, count: int) -> tuple[float, float, float]:
    """Milliseconds of CPU per claim on the file's first ``count`` claims: pyshacl as it comes (each SPARQL constraint
    and property shape per focus node) one claim per run and in batches, and the gate (once for all in a batch)."""
    sources, claims = load_all(WHOLE_FILE, NS)
    quads = []
    for claim in claims[:count]:
        iri, nanopub = nanopublication(claim, sources[claim.source], None, NS)
        quads += [*nanopub, *curation_quads(claim, iri, NS, curated_in(claim, sources[claim.source]))]
    sample, store = nanopublication_quads(quads, NS), OxigraphStore.read_only(store_dir)
    out = []
    for batch, evaluation in ((1, per_focus_node), (BATCH, per_focus_node), (BATCH, contextlib.nullcontext)):
        started = time.process_time()
        with evaluation():
            assert validate_claims(sample, store, NS, batch=batch).conforms
        out.append((time.process_time() - started) * 1000 / len(sample))
    return out[0], out[1], out[2]


def whole_file(workers: int | None, sample: int, reason: bool = True) -> None:
    """Build the whole file once and print its figures (without the reasoning stage when ``reason`` is false)."""
    with tempfile.TemporaryDirectory(prefix="poems-kg-whole-") as tmp:
        peaks, started = Peaks(), time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            if stage != peaks.stage:  # as each stage ends: so that a long stage after it hides nothing
                print(f"  {peaks.stage} ended at {time.perf_counter() - started:.0f} s, peak "
                      f"{peaks.peaks.get(peaks.stage, 0) / 1024**2:,.0f} MB", flush=True)
            peaks.stage = stage

        result = build_stream(WHOLE_FILE, DEFAULT_BASE_IRI, Path(tmp) / "store", workers=workers, with_reasoning=reason,
                              progress=progress)
        total = time.perf_counter() - started
        peaks.stop()
        table = load_sources(WHOLE_FILE, NS)[1]["hpo-phenotype-annotations"]
        with table.file.open(encoding="utf-8") as handle:
            rows = sum(1 for line in handle if line.split("\t")[10:11] == ["P"])
        print(f"whole file: {rows:,} phenotype rows -> {result.claims:,} claims ({rows - result.claims:,} rows left out "
              f"with a warning), {result.quads:,} quads, {result.inferred:,} inferred")
        print(f"{'stage':<24} {'seconds':>9} {'claims/s':>10} {'peak MB':>9}")
        for stage, seconds in result.seconds.items():
            memory = peaks.peaks.get(stage.split(" (")[0])
            print(f"{stage:<24} {seconds:>9.1f} {result.claims / seconds:>10,.0f} "
                  f"{memory / 1024**2 if memory else float('nan'):>9,.0f}")
        peak = max(peaks.peaks.values())
        print(f"{'total':<24} {total:>9.1f} {result.claims / total:>10,.0f} {peak / 1024**2:>9,.0f}")
        print(f"goal: {GOAL_SECONDS / 60:.0f} min and {GOAL_BYTES / 1024**3:.0f} GB; took {total / 60:.1f} min "
              f"({total / GOAL_SECONDS:.2f} of the goal) and {peak / 1024**3:.2f} GB ({peak / GOAL_BYTES:.2f})")
        alone, batched, gate = _gate_peer(Path(tmp) / "store", sample)
        print(f"SHACL gate, CPU ms per claim on the first {sample:,} claims: pyshacl as it comes one claim per run "
              f"{alone:.1f}, in batches of {BATCH} {batched:.1f}; the gate {gate:.2f} (x{alone / gate:.1f} and "
              f"x{batched / gate:.1f})")
        dump = Path(tmp) / "dataset.nq"
        dump.write_bytes(Store(str(Path(tmp) / "store")).dump(format=RdfFormat.N_QUADS) or b"")
        times = []
        for i in range(3):
            started = time.perf_counter()
            subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(Path(tmp) / f"peer-{i}"), "--file", str(dump)],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        peer = statistics.median(times)
        print(f"load: poems-kg {result.seconds['load']:.1f} s, `oxigraph load` of the same quads {peer:.1f} s "
              f"(median of 3; ratio {result.seconds['load'] / peer:.2f})")
        export_figures(Path(tmp) / "store", "whole file", 1)
