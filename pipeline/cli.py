"""The ``poems-kg`` command line: build, load, query, export, serve."""

import datetime as dt
import gzip
import sys
import tempfile
from enum import Enum
from pathlib import Path

import typer
from pyoxigraph import Quad, QueryBoolean, QueryResultsFormat, RdfFormat, parse, parse_query_results, serialize
from rich.console import Console
from rich.progress import DownloadColumn, Progress, TaskID
from rich.table import Table

from kg import isolated
from kg.compile import prefixes_for, quad_order, write_dataset
from kg.limits import MemoryBudgetError, machine_memory, mib, query_processes, service_total
from kg.model import CurationError, Source
from kg.namespaces import Namespaces
from kg.rdf_input import InputLimitError, bounded
from kg.settings import get_settings
from kg.store import KGStore, OxigraphStore, RemoteStore, StoreError
from kg.tokens import Agent, TokenConfigError, new_token
from kg.trusty import SigningError, configured_signer, make_key
from kg.w3id import rules
from ontology.reason import ReasoningError, Report, reason
from ontology.releases import ReleaseError, ReleaseFiles
from ontology.slice import IMPORTS_DIR, VOCABULARY_FILE, SliceError, Upstream, closure, refresh, render, term_list
from pipeline import gate, kgx
from pipeline.build import Build, build, refuse_contradictions
from pipeline.bulk import BulkImportError, import_file, rdf_format
from pipeline.readers.crosswalk import mondo_mappings
from pipeline.readers.folder import load_sources, uncovered
from pipeline.readers.text import load_source, read_yaml, yaml_line
from shapes.validate import ValidationError, Violation, claim_locations, nanopublication_quads, validate_claims, validate_dataset

app = typer.Typer(help="poems-kg: curated claims about POEMS syndrome as a nanopublication knowledge graph.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
err = Console(stderr=True)


class ResultFormat(str, Enum):
    """Output formats of ``poems-kg query``."""

    table = "table"
    json = "json"
    xml = "xml"
    csv = "csv"
    tsv = "tsv"


class DumpFormat(str, Enum):
    """Output formats of ``poems-kg export``."""

    nquads = "nquads"
    trig = "trig"
    kgx = "kgx"


RESULT_FORMATS = {"json": QueryResultsFormat.JSON, "xml": QueryResultsFormat.XML,
                  "csv": QueryResultsFormat.CSV, "tsv": QueryResultsFormat.TSV}
DUMP_FORMATS = {"nquads": RdfFormat.N_QUADS, "trig": RdfFormat.TRIG}


KG_DIR_HELP = ("Folder of curated data (sources/, claims/, mappings/); default: ./kg when it has claims/ and sources/, "
               "else the packaged seed.")


def _kg_dir_option() -> Path | None:
    return typer.Option(None, "--kg-dir", help=KG_DIR_HELP)  # type: ignore[no-any-return]


def _build(kg_dir: Path | None, *, validate: bool = True) -> Build:
    settings = get_settings()
    try:
        signer = configured_signer(settings.sign_key_file, settings.signer)
        return build(kg_dir or settings.kg_dir, settings.base_iri, validate=validate, signer=signer)
    except (CurationError, SigningError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except ValidationError as exc:
        _print_violations(exc.report.violations)
        raise typer.Exit(1) from None


def _print_violations(violations: list[Violation]) -> None:
    for violation in violations:
        err.print(f"[bold red]invalid:[/] {violation}", highlight=False, soft_wrap=True)
    err.print(f"{len(violations)} SHACL violation(s); nothing was written", highlight=False)


def _reason(result: Build) -> Report:
    try:
        report = reason(result.quads, result.ns, result.files)
    except ReasoningError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    if not report.consistent:
        err.print(f"[bold red]inconsistent:[/] {report.explanation}", highlight=False, soft_wrap=True)
        for claim in report.offending_claims:
            err.print(f"  offending claim: {claim}", highlight=False)
    return report


@app.command("build")
def build_cmd(out: Path = typer.Option(Path("build"), help="Folder for dataset.trig and dataset.nq."),
              kg_dir: Path | None = _kg_dir_option(),
              with_reasoning: bool = typer.Option(False, "--reason", help="Also run HermiT and add the inferred graph.")) -> None:
    """Compile sources and claims into TriG and N-Quads; writes nothing on any error."""
    result = _build(kg_dir)
    quads = result.quads
    if with_reasoning:
        report = _reason(result)
        if not report.consistent:
            raise typer.Exit(1)
        quads = sorted([*quads, *report.inferred], key=quad_order)
    paths = write_dataset(quads, out, result.ns)
    err.print(f"{len(result.claims)} claims from {len(result.sources)} source(s), {len(result.quads)} quads -> "
              + ", ".join(str(p) for p in paths))


@app.command("build-store")
def build_store_cmd(store: Path = typer.Option(..., help="New on-disk Oxigraph folder to build (must not exist)."),
                    kg_dir: Path | None = _kg_dir_option(),
                    workers: int | None = typer.Option(None, help="Processes that compile and validate (default: one per CPU)."),
                    with_reasoning: bool = typer.Option(True, "--reason/--no-reason",
                                                        help="Also run HermiT and add the inferred graph.")) -> None:
    """Build a large curated folder straight into a new store, streaming, with a progress bar; nothing on any error.

    The same compile, SHACL gate (every violation with file and line), rule and reasoning as `build`, batch by batch
    on several processes, for folders too large to hold in memory (e.g. bench/hpoa-all: all of HPO's annotations).
    """
    from pipeline.stream import build_stream

    with Progress(*Progress.get_default_columns(), console=err) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        try:
            result = build_stream(kg_dir or get_settings().kg_dir, get_settings().base_iri, store, workers=workers,
                                  with_reasoning=with_reasoning, progress=progress)
        except (CurationError, FileExistsError, StoreError) as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except ValidationError as exc:
            _print_violations(exc.report.violations)
            raise typer.Exit(1) from None
    err.print(f"{result.claims} claims, {result.quads} quads, {result.inferred} inferred -> {store} ("
              + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in result.seconds.items()) + ")")


class ReportFormat(str, Enum):
    """Output formats of ``poems-kg validate``."""

    text = "text"
    turtle = "turtle"
    jsonld = "json-ld"


@app.command("validate")
def validate_cmd(kg_dir: Path | None = _kg_dir_option(),
                 fmt: ReportFormat = typer.Option(ReportFormat.text, "--format",
                                                  help="text (one line per violation) or a SHACL validation report."),
                 whole_graph: bool = typer.Option(False, "--whole-graph",
                                                  help="One pyshacl run over the whole graph instead of claim by claim."),
                 strict: bool = typer.Option(False, "--strict", help="A sentence of a text source that no claim quotes "
                                             "and that is not listed out of scope is an error, not a warning.")) -> None:
    """Validate the compiled graph against the SHACL shapes in shapes/; exit 1 on any violation.

    Also reports each sentence of a text source that no claim quotes and its metadata does not list as out of scope.
    """
    result = _build(kg_dir, validate=False)
    gaps = [(source, line, sentence) for source in result.sources.values() if isinstance(source, Source)
            for line, sentence in uncovered(source, result.claims)]
    for source, line, sentence in gaps:
        kind = "[bold red]error:[/]" if strict else "[yellow]warning:[/]"
        err.print(f"{kind} {source.metadata_file.parent / 'text.txt'}:{line}: no claim quotes this sentence and "
                  f"out_of_scope does not list it: '{sentence[:100]}'", highlight=False, soft_wrap=True)
    if whole_graph:
        report = validate_dataset(result.quads, result.ns)
    else:
        store = OxigraphStore()
        store.load(result.quads)
        report = validate_claims(nanopublication_quads(result.quads, result.ns), store, result.ns)
    if fmt is not ReportFormat.text:
        print(report.graph.serialize(format=fmt.value))
    elif report.violations:
        _print_violations(report.violations)
    else:
        err.print(f"{len(result.claims)} claims conform to the shapes")
    if not report.conforms or (strict and gaps):
        raise typer.Exit(1)


@app.command("reason")
def reason_cmd(kg_dir: Path | None = _kg_dir_option()) -> None:
    """Check consistency with HermiT and list inferred facts; exit 1 on any problem (bad curation stops the build first)."""
    result = _build(kg_dir)
    report = _reason(result)
    if report.consistent:
        for q in report.inferred:
            print(f"{result.ns.compact(str(getattr(q.subject, 'value', q.subject)))} {result.ns.compact(q.predicate.value)} "
                  f"{result.ns.compact(getattr(q.object, 'value', str(q.object)))}")
    err.print(f"consistent: {report.consistent}; {len(report.inferred)} inferred triples; {report.seconds:.2f} s")
    if not report.consistent:
        raise typer.Exit(1)


@app.command()
def load(store: Path = typer.Option(..., help="On-disk Oxigraph folder to load into."),
         kg_dir: Path | None = _kg_dir_option(),
         dump: Path | None = typer.Option(None, "--from", help="Restore a dump written by `export` (.nq or .trig) "
                                                              "instead of building from the curated files.")) -> None:
    """Load the built dataset, or restore a dump, into an on-disk store: validated first, then one transaction."""
    quads = _read_dump(dump) if dump else _build(kg_dir).quads
    try:
        target = OxigraphStore(store)
        target.load(quads)
        target.flush()
    except OSError as exc:  # EmbeddedStoreError (the disk full), or a folder that cannot be opened
        err.print(f"[bold red]error:[/] {store}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    err.print(f"loaded {len(quads)} quads into {store} (now {len(target)} quads)")
    del target  # the store closes here, not with this frame, which the SPARQL parser's errors keep until a collection


def _read_dump(path: Path) -> list[Quad]:
    """Parse and validate a dump; on any problem print it (file and line) and exit without touching the store."""
    fmt = RdfFormat.from_extension(path.suffix.lstrip(".")) if path.suffix else None
    if fmt not in DUMP_FORMATS.values():
        err.print(f"[bold red]error:[/] {path}: a dump is N-Quads (.nq) or TriG (.trig)", highlight=False)
        raise typer.Exit(1)
    try:
        quads = list(bounded(parse(path=str(path), format=fmt), get_settings().max_literal_chars))
    except (SyntaxError, OSError, InputLimitError) as exc:
        err.print(f"[bold red]error:[/] {path}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    ns = Namespaces(get_settings().base_iri)
    context = OxigraphStore()
    context.load(quads)
    report = validate_claims(nanopublication_quads(quads, ns), context, ns)
    if not report.conforms:
        _print_violations(report.violations)
        raise typer.Exit(1)
    where = {iri: (Path(w["file"]), int(w["line"]), w["key"]) for iri, w in claim_locations(quads, ns).items()}
    try:
        refuse_contradictions(context, where, ns)
    except CurationError as exc:
        err.print(f"[bold red]error:[/] {path}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    return quads


@app.command("import")
def import_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                          help="RDF file: .owl .rdf .ttl .nt .nq .trig .jsonld, optionally .gz."),
               store: Path | None = typer.Option(None, help="On-disk Oxigraph folder (default: the configured SPARQL server)."),
               graph: str | None = typer.Option(None, help="Named graph to import into (default: <base>graph/import/<name>).")) -> None:
    """Stream a large RDF file (an ontology such as MONDO or HPO) into its own named graph, with a progress bar."""
    settings = get_settings()
    if store is None and not settings.sparql_endpoint:
        err.print("[bold red]error:[/] give --store, or set POEMS_KG_SPARQL_ENDPOINT", highlight=False)
        raise typer.Exit(2)
    try:
        rdf_format(file)
    except BulkImportError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    target: KGStore = OxigraphStore(store) if store else RemoteStore.from_settings(settings)
    graph = graph or Namespaces(settings.base_iri).imports + file.name.split(".")[0]
    with Progress(*Progress.get_default_columns(), DownloadColumn(), console=err) as bar:
        task = bar.add_task(f"importing {file.name}", total=file.stat().st_size)
        try:
            count = import_file(target, file, graph, lambda done: bar.update(task, completed=done))
        except (BulkImportError, StoreError) as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    if isinstance(target, OxigraphStore):
        target.flush()
    err.print(f"imported {count} triples into <{graph}>")


@app.command("add-claim")
def add_claim_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                             help="YAML file of one claim: its source and the fields of a curated claim."),
                  store: Path = typer.Option(..., exists=True, file_okay=False, help="On-disk Oxigraph folder to write to."),
                  by: str = typer.Option(..., help="Who writes it (a plain word, recorded as its creator)."),
                  supersedes: str | None = typer.Option(None, help="IRI of the claim it corrects."),
                  kg_dir: Path | None = _kg_dir_option()) -> None:
    """Add one claim to an on-disk store through the write gate of the API's claim writes; a refusal writes nothing."""
    settings = get_settings()
    ns = Namespaces(settings.base_iri)
    try:
        fields = read_yaml(file)
        if not isinstance(fields, dict):
            raise CurationError(file, 1, "a claim file is one mapping of fields (source, key, subject, ...)")
        texts, tables = load_sources(kg_dir or settings.kg_dir, ns)
        target = OxigraphStore(store)
        signer = configured_signer(settings.sign_key_file, settings.signer)
        iri = gate.add_claim(target, ns, {**texts, **tables}, fields, Agent(by, "write"), supersedes, signer,
                             origin=(file, lambda key: yaml_line(fields, key)))
        target.flush()
    except (CurationError, SigningError, OSError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except gate.WriteRejected as exc:
        where = "" if exc.message.startswith(str(file)) else f"{file}: "  # a field's problem names its own line
        err.print(f"[bold red]refused ({exc.status}):[/] {where}{exc.message}", highlight=False, soft_wrap=True)
        for item in exc.report:
            err.print(f"  {item}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    print(iri)


def _import_files(kg_dir: Path, upstream: Upstream, ns: Namespaces) -> dict[Path, bytes]:
    """What a folder of table sources brings besides its metadata, gzipped.

    MONDO's exact mappings of its diseases (``mappings/``) and the import slices of the MONDO and HPO terms its rows
    name (``imports/``), read from the same upstream files as the packaged slices. A term its upstream file lacks (a
    MONDO mapping's subject included) is left out, so that its rows are refused.
    """
    from pipeline.readers.table import TABLE_MAPPINGS_HEADER, table_terms

    diseases: set[str] = set()
    hpo: set[str] = set()
    for table in load_sources(kg_dir, ns)[1].values():
        named, terms = table_terms(table)
        diseases |= named
        hpo |= terms
    hp_reader, mondo_reader = upstream.reader("hp"), upstream.reader("mondo")
    lines = mondo_mappings(upstream.mapping_sets(), (), diseases, header=TABLE_MAPPINGS_HEADER).decode().splitlines(keepends=True)
    mapping = "".join(line for line in lines if not line.startswith("MONDO:") or line.split("\t", 1)[0] in mondo_reader).encode()
    mondo = {line.split("\t", 1)[0] for line in lines if line.startswith("MONDO:")}
    slices = {"hp": closure(hp_reader, sorted(c for c in hpo if c in hp_reader)),
              "mondo": closure(mondo_reader, sorted(c for c in mondo if c in mondo_reader))}
    listed = f"the rows of the table sources in {kg_dir.name}/"
    out = {kg_dir / "mappings" / "mondo-exact.sssom.tsv.gz": gzip.compress(mapping, mtime=0)}
    for name, found in slices.items():
        out[kg_dir / "imports" / f"{name}_import.ttl.gz"] = gzip.compress(render(name, found, ns, listed), mtime=0)
    return out


@app.command("draft")
def draft_claims(source_dir: Path = typer.Argument(..., help="A source folder: text.txt and metadata.yaml."),
                 out: Path | None = typer.Option(None, help="The draft claims file [default: the claims folder beside "
                                                 "the sources folder, <source id>.yaml]."),
                 mirror: Path | None = typer.Option(None, help="Also match the terms of the pinned releases in this "
                                                    "folder [default: those already in the cache]."),
                 creator: str = typer.Option("poems:curation-team", help="CURIE of the curator (the file's creator)."),
                 force: bool = typer.Option(False, "--force", help="Overwrite an existing claims file.")) -> None:
    """Draft claims from a new source's text for a curator to review.

    Every claim has `status: draft`, which the build refuses until the curator has reviewed it and deleted the line.
    """
    from pipeline.draft import Drafter, DraftError, render

    settings = get_settings()
    try:
        source = load_source(source_dir, Namespaces(settings.base_iri))
        target = out or source_dir.resolve().parent.parent / "claims" / f"{source.id}.yaml"
        if target.exists() and not force:
            raise CurationError(target, 1, "a claims file is already there: give --out, or --force to overwrite it")
        drafter = Drafter(settings.base_iri, ReleaseFiles(mirror) if mirror else ReleaseFiles())
        drafts = drafter.draft(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_text(render(source, drafts, creator, dt.date.today()), encoding="utf-8")
        partial.replace(target)
    except (CurationError, ReleaseError, SliceError, DraftError, OSError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    err.print(f"{len(drafts)} draft claims from {len(source.text):,} characters: {target}", highlight=False)


@app.command("refresh-imports")
def refresh_imports(mirror: Path | None = typer.Option(None, help="Read the pinned release files from this folder "
                                                       "(laid out as the cache) instead of downloading them."),
                    cache: Path | None = typer.Option(None, help="Where downloaded releases are kept "
                                                      "[default: ~/.cache/poems-kg/releases]."),
                    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if a committed file differs."),
                    tables: list[Path] = typer.Option([], "--kg-dir", help="Also a folder of table sources: the "
                                                      "slices and mappings of the terms its rows name (repeatable).")) -> None:
    """Regenerate the import slices and MONDO's exact mappings from the ontologies' pinned releases.

    The releases (ontology/imports/releases.yaml) are downloaded once into a cache and checked against their checksums.

    Every file is computed before any is written: a refresh that fails changes nothing.
    """
    settings = get_settings()
    try:
        upstream = Upstream(ReleaseFiles(mirror, cache, err))
        files = {IMPORTS_DIR / f"{name}_import.ttl": body for name, body in refresh(upstream).items()}
        files[VOCABULARY_FILE] = upstream.biolink().vocabulary()
        files[settings.kg_dir / "mappings" / "mondo-exact.sssom.tsv"] = mondo_mappings(upstream.mapping_sets(), term_list("mondo"))
        for folder in tables:
            files.update(_import_files(folder, upstream, Namespaces(settings.base_iri)))
    except (SliceError, ReleaseError, CurationError, OSError, ImportError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    stale = [path for path, body in files.items() if not path.exists() or path.read_bytes() != body]
    for path in stale:
        err.print(f"{'differs' if check else 'writing'}: {path}", highlight=False)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".part")
            partial.write_bytes(files[path])
            partial.replace(path)
    err.print(f"{len(files)} files, {len(stale)} {'differ' if check else 'rewritten'}")
    if check and stale:
        raise typer.Exit(1)


@app.command()
def token(name: str = typer.Argument(..., help="Who the token is for (a plain word, recorded with each write)."),
          scope: str = typer.Option("write", help="read, write (add and supersede claims) or admin.")) -> None:
    """Make a bearer token: give the token to the client, add the entry to POEMS_KG_TOKENS or the tokens file."""
    try:
        secret, entry = new_token(name, scope)
    except TokenConfigError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    typer.echo(f"token (shown once, not stored anywhere): {secret}")
    typer.echo(f"entry for the settings (only the hash):   {entry}")


@app.command()
def query(sparql: str = typer.Argument(..., help="A SPARQL query, or @file.rq to read it from a file."),
          store: Path | None = typer.Option(None, help="On-disk store; default: build in memory."),
          fmt: ResultFormat = typer.Option(ResultFormat.table, "--format", help="Output format."),
          kg_dir: Path | None = _kg_dir_option()) -> None:
    """Run a SPARQL query; the default graph is the union of all graphs.

    It runs in a process of its own, under the memory and time limits (``POEMS_KG_QUERY_MEMORY_BYTES``,
    ``POEMS_KG_QUERY_TIMEOUT_S``).
    """
    text = Path(sparql[1:]).read_text(encoding="utf-8") if sparql.startswith("@") else sparql
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="poems-kg-query-") as scratch:
        folder = store
        if not folder:
            built, folder = OxigraphStore(), Path(scratch) / "store"
            built.load(_build(kg_dir).quads)
            built.snapshot(folder)
        try:
            graph, body = isolated.run("query", (str(folder), text), settings)
        except isolated.TaskError as exc:
            err.print(f"[bold red]error:[/] {'invalid SPARQL: ' if exc.status == 400 else ''}{exc.message}", highlight=False)
            raise typer.Exit(2) from None
    if graph:
        sys.stdout.buffer.write(body)
        return
    result = parse_query_results(body, format=QueryResultsFormat.JSON)
    if isinstance(result, QueryBoolean):
        print("true" if bool(result) else "false")
    elif fmt is ResultFormat.table:
        names = [v.value for v in result.variables]
        table = Table(*names)
        for row in result:
            table.add_row(*(row[n].value if row[n] is not None else "" for n in names))
        Console().print(table)
    else:
        sys.stdout.buffer.write(result.serialize(format=RESULT_FORMATS[fmt.value]) or b"")


@app.command()
def export(store: Path | None = typer.Option(None, help="On-disk store; default: build in memory."),
           fmt: DumpFormat = typer.Option(DumpFormat.nquads, "--format", help="Dataset format; kgx: Biolink nodes and "
                                          "edges as KGX JSON Lines (nodes.jsonl, edges.jsonl) in the folder --out."),
           out: Path | None = typer.Option(None, help="Output file (default: standard output); for kgx, a folder."),
           nanopubs: Path | None = typer.Option(None, "--nanopubs", help="Instead: write one TriG file per "
                                                "nanopublication into this folder, for the nanopublication tools."),
           kg_dir: Path | None = _kg_dir_option()) -> None:
    """Write the whole dataset (every graph) to a file or standard output, or each nanopublication to its own file.

    With ``--format kgx``: the current claims as Biolink nodes and edges (KGX JSON Lines) in the folder ``--out``.
    """
    if fmt is DumpFormat.kgx and out is None:
        err.print("[bold red]error:[/] --format kgx writes two files: give their folder with --out", highlight=False)
        raise typer.Exit(2)
    target = OxigraphStore(store) if store else OxigraphStore()
    if not store:
        target.load(_build(kg_dir).quads)
    if nanopubs is not None:
        _export_nanopubs(target, nanopubs)
        return
    if fmt is DumpFormat.kgx:
        assert out is not None
        written = kgx.export(target, Namespaces(get_settings().base_iri), out)
        err.print(f"{written.edges} edges and {written.nodes} nodes written to {out}; "
                  f"{sum(written.left_out.values())} claims not exchanged (README, \"Biolink exchange\")")
        return
    data = target.dump(DUMP_FORMATS[fmt.value])
    if out:
        out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


def _export_nanopubs(store: OxigraphStore, folder: Path) -> None:
    """``<code>.trig`` for every nanopublication: its four graphs only (its curation record stays behind)."""
    ns = Namespaces(get_settings().base_iri)
    folder.mkdir(parents=True, exist_ok=True)
    groups = nanopublication_quads(store.quads(without=ns.imports), ns)
    for iri, group in groups.items():
        own = sorted((q for q in group if getattr(q.graph_name, "value", "").startswith(iri)),
                     key=quad_order)
        body = serialize(own, format=RdfFormat.TRIG, prefixes={"this": iri, "sub": iri + "#", **prefixes_for(ns)})
        (folder / f"{iri.removeprefix(ns.claim)}.trig").write_bytes(body or b"")
    err.print(f"{len(groups)} nanopublications written to {folder}")


@app.command("w3id-rules")
def w3id_rules(server: str = typer.Option(..., help="The URL where poems-kg is served, e.g. https://kg.example.org.")) -> None:
    """Print the .htaccess that w3id.org needs to forward the base IRI's identifiers to SERVER."""
    if not server.startswith(("https://", "http://")):
        err.print(f"[bold red]error:[/] --server must be an http(s) URL, not '{server}'", highlight=False)
        raise typer.Exit(2)
    typer.echo(rules(server), nl=False)


@app.command()
def keygen(key: Path = typer.Argument(..., help="File to write the new RSA private key to (PEM; it must not exist)."),
           identity: str = typer.Option(..., "--signer", help="Who signs: an ORCID (https://orcid.org/...) or an agent "
                                        "IRI.")) -> None:
    """Make a signing key: the private key goes to KEY (readable by you only), the settings to use it are printed."""
    if key.exists():
        err.print(f"[bold red]error:[/] {key} exists; a key is never overwritten", highlight=False)
        raise typer.Exit(2)
    public = make_key(key)
    typer.echo(f"public key (base64 DER, as nanopublications carry it): {public}")
    typer.echo(f"settings:  POEMS_KG_SIGN_KEY_FILE={key.resolve()}  POEMS_KG_SIGNER={identity}")


@app.command()
def serve(host: str | None = typer.Option(None, help="Interface (default from settings: 127.0.0.1)."),
          port: int | None = typer.Option(None, help="Port (default from settings: 8000)."),
          store: Path | None = typer.Option(None, help="On-disk store folder; default: in memory."),
          processes: int | None = typer.Option(None, min=1, help="Serving processes on the one socket (default from "
                                                                 "settings: 1); more answer reads on more cores."),
          kg_dir: Path | None = _kg_dir_option()) -> None:
    """Serve SPARQL and the web interfaces with uvicorn."""
    from api.processes import FollowerError
    from api.processes import serve as run  # the one function of the web package the command line uses

    settings = get_settings()
    changed = {"store_path": store, "kg_dir": kg_dir, "serve_processes": processes}
    settings = settings.model_copy(update={k: v for k, v in changed.items() if v is not None})

    def started() -> None:
        typer.echo(f"memory: at most {mib(total)} in all ({mib(settings.main_memory_bytes)} for each of "
                   f"{settings.serve_processes} serving processes, {mib(settings.query_memory_bytes)} for each of "
                   f"{query_processes(settings)} query processes)", err=True)

    try:
        total = service_total(settings, machine_memory())
        run(settings, host or settings.host, port or settings.port, started)
    except (CurationError, ReasoningError, StoreError, SigningError, MemoryBudgetError, FollowerError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None


def main() -> None:
    """Entry point of the ``poems-kg`` script."""
    app()
