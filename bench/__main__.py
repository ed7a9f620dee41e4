"""Run the benchmarks: ``python -m bench [reasoning] [--sizes 1000,10000] [--repeat 3]``."""

import argparse
import statistics
import time

from bench.workload import synthetic_quads
from kg.build import build
from kg.settings import get_settings
from ontology.reason import reason


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def reasoning(sizes: list[int], repeat: int) -> None:
    """Median HermiT reasoning time (consistency + inferred graph + contradiction check) per workload size."""
    settings = get_settings()
    seed = build(settings.kg_dir, settings.base_iri)
    base = _median_seconds(lambda: reason(seed.quads, seed.ns), repeat)
    print(f"{'workload':>18} {'claims':>8} {'quads':>9} {'median s':>9} {'x seed':>8}")
    print(f"{'seed':>18} {len(seed.claims):>8} {len(seed.quads):>9} {base:>9.2f} {1.0:>8.1f}")
    for n in sizes:
        quads = synthetic_quads(n, seed.ns)
        seconds = _median_seconds(lambda q=quads: reason(q, seed.ns), repeat)
        print(f"{'synthetic':>18} {n:>8} {len(quads):>9} {seconds:>9.2f} {seconds / base:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suite", nargs="?", default="reasoning", choices=["reasoning"])
    parser.add_argument("--sizes", default="1000,10000", help="Comma-separated synthetic claim counts.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per measurement (the median is reported).")
    args = parser.parse_args()
    reasoning([int(s) for s in args.sizes.split(",")], args.repeat)


if __name__ == "__main__":
    main()
