"""The streaming build: the compile, gate and load of ``pipeline.build`` for a curated folder too large for memory.

The claims are compiled and validated in batches on several processes; each batch's nanopublications are written to
N-Quads as they pass, never all held at once. Then Oxigraph's bulk loader fills a new on-disk store, the rule that no
source contradicts itself runs over it, and HermiT reasons over the assertions. Nothing reaches the target store
unless every claim passed: the store is built beside it and renamed into place.
"""

import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from pathlib import Path

from pyoxigraph import Quad, RdfFormat, Store, serialize
from rdflib import Graph

from kg.compile import curated_in, curation_quads, nanopublication, source_quads
from kg.model import Claim, CurationError, Source, TableSource
from kg.namespaces import Namespaces
from kg.store import OxigraphStore
from kg.terms import ontology_files
from ontology.reason import asserted, reason
from pipeline.build import Location, claim_of, leave_out, ontology_quads, refuse_contradictions, skips_bad_rows
from pipeline.readers.crosswalk import load_mappings, mapping_quads
from pipeline.readers.folder import load_all, load_sources
from shapes.validate import Report, ValidationError, Violation, nanopublication_quads, validate_claims

BATCH = 1000  # claims a worker compiles and validates at a time


@dataclass
class Streamed:
    """What a streaming build did: counts, the seconds of each stage, and the gate's violations."""

    claims: int = 0
    quads: int = 0
    inferred: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> wall seconds (compile, validate: worker seconds)
    violations: list[Violation] = field(default_factory=list)


@dataclass
class _Batch:
    nquads: bytes
    iris: dict[str, str]
    assertions: list[Quad]
    violations: list[Violation]
    compile_s: float
    validate_s: float


_WORKER: dict[str, object] = {}  # per worker process: the sources, the namespaces and the validation context store


def _static(kg_dir: Path, ns: Namespaces, sources: dict[str, Source | TableSource]) -> list[Quad]:
    """The quads that are not claims: ontology and import slices, mappings, source documents."""
    return [*ontology_quads(ns, ontology_files(kg_dir)), *mapping_quads(load_mappings(kg_dir, ns), ns),
            *(q for s in sources.values() for q in source_quads(s, ns))]


def _start_worker(kg_dir: Path, base_iri: str) -> None:
    """A worker reads the sources and the validation context itself, so that it never holds the claims."""
    ns = Namespaces(base_iri)
    texts, tables = load_sources(kg_dir, ns)
    sources: dict[str, Source | TableSource] = {**texts, **tables}
    store = OxigraphStore()
    store.load(_static(kg_dir, ns, sources))
    _WORKER.update(sources=sources, ns=ns, store=store)


def _batch(job: tuple[list[Claim], dict[str, str]]) -> _Batch:
    """Compile a batch of claims (``done``: the IRIs of the claims they supersede) and validate it."""
    claims, done = job
    sources, ns, store = _WORKER["sources"], _WORKER["ns"], _WORKER["store"]
    assert isinstance(ns, Namespaces) and isinstance(sources, dict) and isinstance(store, OxigraphStore)
    started = time.process_time()
    quads: list[Quad] = []
    iris: dict[str, str] = {}
    for claim in claims:
        source = sources[claim.source]
        iris[claim.key], nanopub = nanopublication(claim, source, done.get(claim.supersedes or ""), ns)
        quads += nanopub
        quads += curation_quads(claim, iris[claim.key], ns, curated_in(claim, source))
    compiled = time.process_time()
    report = validate_claims(nanopublication_quads(quads, ns), store, ns)
    validated = time.process_time()
    assertions = list(filter(asserted, quads))
    return _Batch(serialize(quads, format=RdfFormat.N_QUADS) or b"", iris, assertions, report.violations,
                  compiled - started, validated - compiled)


def _rounds(claims: list[Claim]) -> Iterator[list[Claim]]:
    """The claims in rounds: first those that supersede nothing, then those that supersede a claim of a round before."""
    left, placed = claims, set[str]()
    while left:
        ready = [c for c in left if c.supersedes is None or c.supersedes in placed]
        if not ready:
            raise CurationError(left[0].file, left[0].line, f"claim '{left[0].key}' supersedes claims in a cycle")
        placed.update(c.key for c in ready)
        left = [c for c in left if c.key not in placed]
        yield ready


def _compile_and_validate(claims: list[Claim], pool: Pool, dump: Path, out: Streamed,
                          progress: Callable[[str, int, int], None]) -> tuple[list[Quad], dict[str, Location]]:
    """Compile and validate the claims on the ``pool``'s processes, appending each batch to ``dump`` as it passes.

    Returns the quads of the assertion graphs (what reasoning reads) and where each nanopublication was curated.
    """
    assertions: list[Quad] = []
    where: dict[str, Location] = {}
    done: dict[str, str] = {}
    compile_s = validate_s = 0.0
    started = time.perf_counter()
    progress("compile and validate", 0, len(claims))
    with dump.open("ab") as handle:
        for claims_of_round in _rounds(claims):
            batches = [claims_of_round[i:i + BATCH] for i in range(0, len(claims_of_round), BATCH)]
            jobs = [(b, {c.supersedes: done[c.supersedes] for c in b if c.supersedes}) for b in batches]
            for batch, result in zip(batches, pool.imap(_batch, jobs), strict=True):
                handle.write(result.nquads)
                done.update(result.iris)
                where.update((result.iris[c.key], (c.file, c.line, c.key)) for c in batch)
                assertions += result.assertions
                out.violations += result.violations
                compile_s, validate_s = compile_s + result.compile_s, validate_s + result.validate_s
                progress("compile and validate", len(done), len(claims))
    out.seconds.update({"compile and validate": time.perf_counter() - started, "compile (worker CPU)": compile_s,
                        "validate (worker CPU)": validate_s})
    return assertions, where


def build_stream(kg_dir: Path, base_iri: str, store_dir: Path, *, workers: int | None = None,
                 with_reasoning: bool = True, progress: Callable[[str, int, int], None] = lambda *_: None) -> Streamed:
    """Build ``kg_dir`` into a new on-disk store at ``store_dir`` (which must not exist), streaming.

    ``progress(stage, done, total)`` is called as each stage starts (done 0) and ends, and as claims pass. Raises
    ``CurationError`` and ``ValidationError`` as ``pipeline.build.build`` does (every violation with its file and line);
    then nothing is written.
    """
    if store_dir.exists():
        raise FileExistsError(f"{store_dir} exists: give a new folder for the store")
    out, ns, files = Streamed(), Namespaces(base_iri), ontology_files(kg_dir)
    work = store_dir.with_name(store_dir.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    dump = work / "dataset.nq"
    try:
        with multiprocessing.get_context("fork").Pool(workers or os.cpu_count() or 1, _start_worker,
                                                      (kg_dir, base_iri)) as pool:
            progress("read", 0, 1)
            started = time.perf_counter()
            sources, claims = load_all(kg_dir, ns)
            static = _static(kg_dir, ns, sources)
            dump.write_bytes(serialize(static, format=RdfFormat.N_QUADS) or b"")
            out.claims, out.seconds["read"] = len(claims), time.perf_counter() - started
            progress("read", 1, 1)
            assertions, where = _compile_and_validate(claims, pool, dump, out, progress)
            del claims, static
        if out.violations:
            raise ValidationError(Report(out.violations, Graph()))
        progress("load", 0, 1)
        started = time.perf_counter()
        Store(str(work / "store")).bulk_load(path=str(dump), format=RdfFormat.N_QUADS)
        store = OxigraphStore(work / "store")
        out.quads, out.seconds["load"] = len(store), time.perf_counter() - started
        progress("rule", 0, 1)
        started = time.perf_counter()
        left_out = refuse_contradictions(store, where, ns, skips_bad_rows(sources, ns))
        if left_out:
            store.update(leave_out(left_out, ns))
            assertions = [q for q in assertions if claim_of(q, ns) not in left_out]
            out.claims, out.quads = out.claims - len(left_out), len(store)
        out.seconds["rule"] = time.perf_counter() - started
        if with_reasoning:
            progress("reason", 0, 1)
            started = time.perf_counter()
            report = reason(assertions, ns, files)
            if not report.consistent:
                raise CurationError(kg_dir / "sources", 0, f"the claims are inconsistent with the ontology: {report.explanation}")
            store.load(report.inferred)
            out.inferred, out.seconds["reason"] = len(report.inferred), time.perf_counter() - started
        store.flush()
        del store
        (work / "store").rename(store_dir)
        progress("done", 1, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
