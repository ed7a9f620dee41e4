"""Run the benchmarks: ``python -m bench SUITE [--sizes 1000,10000] [--repeat 5]``.

Suites: sparql, reasoning, validation, load, traffic, http, writes, fuzz, reliability, whole-file, memory, kgx, draft.
"""

import argparse
import statistics
import time
from pathlib import Path

from bench.draft import draft
from bench.fuzz import fuzz
from bench.http import http
from bench.kgx import kgx
from bench.load import load
from bench.memory import memory
from bench.reliability import reliability
from bench.sparql import sparql
from bench.traffic import traffic
from bench.validation import validation
from bench.whole_file import whole_file
from bench.workload import synthetic_quads
from bench.writes import writes
from kg.settings import get_settings
from ontology.reason import reason
from pipeline.build import build


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def reasoning(sizes: list[int], repeat: int) -> None:
    """Median HermiT reasoning time (consistency + inferred graph) per workload size."""
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
    parser.add_argument("suite", nargs="?", default="sparql",
                        choices=["reasoning", "sparql", "validation", "load", "traffic", "http", "writes", "fuzz",
                                 "reliability", "whole-file", "memory", "kgx", "draft"])
    parser.add_argument("--sizes", help="Comma-separated synthetic claim counts (reasoning: 1000,10000; "
                                        "sparql: 1000,10000,100000).")
    parser.add_argument("--repeat", type=int, default=5, help="Runs per measurement (the median is reported).")
    parser.add_argument("--cap", type=float, default=30, help="sparql: seconds before a query counts as not finished.")
    parser.add_argument("--load-cap", type=float, default=600, help="sparql: seconds a peer may take to load and start.")
    parser.add_argument("--rdflib-max", type=int, default=10000, help="sparql: largest workload given to the rdflib peers.")
    parser.add_argument("--whole-max", type=int, default=1000, help="validation: largest workload validated whole-graph.")
    parser.add_argument("--triples", type=int, default=10_000_000, help="load: size of the generated ontology.")
    parser.add_argument("--seconds", type=float, default=30, help="traffic, reliability: duration of each load phase.")
    parser.add_argument("--readers", type=int, default=16, help="traffic: concurrent reading clients.")
    parser.add_argument("--writers", type=int, default=2, help="traffic: concurrent writing clients (second phase).")
    parser.add_argument("--connections", type=int, default=16, help="http: concurrent connections of wrk.")
    parser.add_argument("--processes", default="2", help="http: numbers of serving processes (beyond 1) to compare "
                                                         "with one, comma-separated; '' for none.")
    parser.add_argument("--count", type=int, default=500, help="fuzz, reliability: generated inputs of each kind.")
    parser.add_argument("--kills", type=int, default=3, help="reliability: times the server is killed during writes.")
    parser.add_argument("--seed", type=int, default=1, help="fuzz: seed of the generator.")
    parser.add_argument("--workers", type=int, help="whole-file: processes that compile and validate (default: one per CPU).")
    parser.add_argument("--sample", type=int, default=1000, help="whole-file: claims the SHACL gate peer validates.")
    parser.add_argument("--mirror", type=Path, help="draft: read the pinned releases from this folder (default: the cache).")
    parser.add_argument("--no-virtuoso", action="store_true", help="http: leave the Virtuoso peer out (it needs root to install).")
    parser.add_argument("--no-reason", action="store_true", help="whole-file: leave the reasoning stage out.")
    args = parser.parse_args()
    if args.suite == "reasoning":
        reasoning([int(s) for s in (args.sizes or "1000,10000").split(",")], args.repeat)
    elif args.suite == "traffic":
        traffic(args.seconds, args.readers, args.writers)
    elif args.suite == "http":
        http((args.sizes or "seed,100000").split(","), args.seconds, args.connections, not args.no_virtuoso,
             tuple(int(n) for n in args.processes.split(",") if n))
    elif args.suite == "reliability":
        reliability(args.seconds, args.count, args.kills)
    elif args.suite == "draft":
        draft(args.repeat, args.mirror)
    elif args.suite == "kgx":
        kgx(args.repeat)
    elif args.suite == "memory":
        memory((args.sizes or "seed,100000").split(","))
    elif args.suite == "fuzz":
        fuzz(args.count, args.seed)
    elif args.suite == "writes":
        writes([int(s) for s in (args.sizes or "1000,100000").split(",")], args.repeat, args.seconds)
    elif args.suite == "whole-file":
        whole_file(args.workers, args.sample, reason=not args.no_reason)
    elif args.suite == "load":
        load(args.triples, args.repeat)
    elif args.suite == "validation":
        validation([int(s) for s in (args.sizes or "1000,10000").split(",")], args.repeat, args.whole_max)
    else:
        sparql([int(s) for s in (args.sizes or "1000,10000,100000").split(",")], args.repeat, args.cap, args.load_cap,
               args.rdflib_max)


if __name__ == "__main__":
    main()
