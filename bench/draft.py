"""Drafted claims (``poems-kg draft``) measured against the curated claims of the same text.

Of the curated claims of the seed text with a term as object (subject, object, direction), the share the drafts
propose (recall), and the share of drafts that are a curated claim (precision); the same for a naive peer, every pair
of terms a sentence names as "supports", to show what the cues add. The five worst misses are printed with the reason.
"""

import statistics
import time
from pathlib import Path

from kg.namespaces import Namespaces
from kg.settings import get_settings
from ontology.releases import ReleaseFiles
from pipeline.build import build
from pipeline.draft import Draft, Drafter
from pipeline.readers.text import load_source

SEED = "poems-cause-summary"


def _score(proposed: set[tuple[str, str, str]], curated: set[tuple[str, str, str]]) -> tuple[float, float]:
    return len(proposed & curated) / len(curated), (len(proposed & curated) / len(proposed) if proposed else 0.0)


def draft(repeat: int, mirror: Path | None) -> None:
    """Print recall and precision of the drafts of the seed text, the naive peer's, timings and the worst misses."""
    settings = get_settings()
    ns = Namespaces(settings.base_iri)
    kg_dir = settings.kg_dir
    claims = [c for c in build(kg_dir, settings.base_iri).claims if c.source.endswith(SEED) and c.object and c.row is None]
    curated = {(ns.compact(c.subject), ns.compact(c.object or ""), c.direction) for c in claims}
    curated = {c for c in curated if not c[0].startswith("source:")}
    source = load_source(kg_dir / "sources" / SEED, ns)
    files = ReleaseFiles(mirror) if mirror else ReleaseFiles()
    started = time.perf_counter()
    drafter = Drafter(settings.base_iri, files)
    setup = time.perf_counter() - started
    runs, drafts = [], list[Draft]()
    for _ in range(repeat):
        started = time.perf_counter()
        drafts = drafter.draft(source)
        runs.append(time.perf_counter() - started)
    proposed = {(d.subject.term.curie, d.object.term.curie, d.direction) for d in drafts}
    doc = drafter.nlp(source.text)
    naive = {(a.label_, b.label_, "supports") for s in doc.sents for a in s.ents for b in s.ents if a.label_ != b.label_}
    recall, precision = _score(proposed, curated)
    naive_recall, naive_precision = _score(naive, curated)
    pairs = {(s, o) for s, o, _ in proposed}
    print(f"draft, seed text ({len(source.text):,} characters, {len(curated)} curated claims with a term as object; "
          f"lexicon {len(drafter.terms):,} phrases built in {setup:.1f} s; releases from {mirror or files.cache})")
    print(f"  drafts: {len(drafts)} in {statistics.median(runs) * 1000:.0f} ms (median of {repeat}); "
          f"recall {recall:.2f} ({len(proposed & curated)}/{len(curated)}), precision {precision:.2f}; "
          f"subject and object alone: recall {len({(s, o) for s, o, _ in curated} & pairs) / len(curated):.2f}")
    print(f"  naive peer (every pair of terms in a sentence, supports): {len(naive)} proposals, recall "
          f"{naive_recall:.2f}, precision {naive_precision:.2f}; drafts / peer precision "
          f"{precision / naive_precision if naive_precision else float('inf'):.1f}x")
    found = {m.term.curie for d in drafts for m in (d.subject, d.object)} | {e.label_ for e in doc.ents}

    def badness(claim: tuple[str, str, str]) -> tuple[int, str]:
        s, o, _ = claim
        missing = [t for t in (s, o) if t not in found]
        if missing:
            return 3 - (len(missing) == 1), f"not found in the text by label or exact synonym: {', '.join(missing)}"
        other = [d for d in proposed if d[:2] == (s, o)]
        if other:
            return 0, f"proposed with direction {other[0][2]}"
        return 1, "both terms found, not paired by a relation cue"

    misses = sorted((badness(c), c) for c in curated - proposed)
    print(f"  misses: {len(misses)}; the five worst:")
    for (_, why), (s, o, direction) in sorted(misses, key=lambda m: -m[0][0])[:5]:
        print(f"    {s} -> {o} ({direction}): {why}")
