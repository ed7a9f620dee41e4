"""The build's gate: SHACL validation of the whole graph in one run versus each claim alone with its context, and the
rule that no source contradicts itself (kg/queries/opposing-claims.rq over the whole store, as builds and admin writes
run it)."""

import statistics
import time

from bench.workload import synthetic_quads
from kg.direction import contradictions
from kg.namespaces import DEFAULT_BASE_IRI, Namespaces
from kg.store import OxigraphStore
from shapes.validate import nanopublication_quads, validate_claims, validate_dataset

NS = Namespaces(DEFAULT_BASE_IRI)


def validation(sizes: list[int], repeat: int, whole_max: int) -> None:
    """Print, per workload size, whole-graph and per-claim validation times and their ratio."""
    print(f"{'claims':>8} {'quads':>9} {'whole s':>9} {'per-claim total s':>18} {'ms/claim':>9} {'whole/per-claim':>16} "
          f"{'rule s':>7} {'rule/per-claim':>15}")
    for n in sizes:
        quads = synthetic_quads(n, NS)
        whole = []
        for _ in range(repeat if n <= whole_max else 0):
            started = time.perf_counter()
            assert validate_dataset(quads, NS).conforms
            whole.append(time.perf_counter() - started)
        store = OxigraphStore()
        store.load(quads)
        per_claim = []
        for iri, claim in nanopublication_quads(quads, NS).items():
            started = time.perf_counter()
            assert validate_claims({iri: claim}, store, NS).conforms
            per_claim.append(time.perf_counter() - started)
        total = sum(per_claim)
        rule = []
        for _ in range(repeat):
            started = time.perf_counter()
            assert contradictions(store, NS) == []
            rule.append(time.perf_counter() - started)
        whole_s = f"{statistics.median(whole):.2f}" if whole else "not run"
        ratio = f"{statistics.median(whole) / total:.2f}" if whole else "-"
        print(f"{n:>8} {len(quads):>9} {whole_s:>9} {total:>18.2f} {statistics.median(per_claim) * 1000:>9.1f} {ratio:>16} "
              f"{statistics.median(rule):>7.3f} {statistics.median(rule) / total:>15.4f}")
    print(f"(whole-graph runs only up to {whole_max:,} claims, --whole-max: its cost grows faster than the graph)")
