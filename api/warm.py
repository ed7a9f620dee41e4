"""The largest lists of claims, computed in the background when a serving process starts.

The lists of an entity or a source with thousands of claims take seconds to compute the first time (a hub's etiology:
~1.4 s at 100,000 claims, nearly all of it the engine reading each claim's head; a source's document: ordering its
quotes, ~4 s), then a fraction of that from what is kept (``api.cache.claim_parts``, ``api.source_spans``). So each
serving process, once it answers, computes the etiology of the entities with at least ``warm_claims`` claims (their
claims' heads, and the details of those shown first) and the quote order of such sources, the largest first, in a
thread of its own, until the claims' parts kept fill half their allowance (``claim_parts_bytes``): the first readers of
the largest lists find them nearly ready. A write meanwhile is safe: what it touches is not kept from before it
(``AnswerStore.put``'s ``since``, ``SourceSpans.changed``).
"""

import logging
import threading
import time

from starlette.datastructures import State

from api.clinical import etiology
from kg.named_queries import run_query
from kg.namespaces import Namespaces
from kg.store import boolean, select_rows

LOG = logging.getLogger(__name__)


def warm(state: State, claims: int, stop: threading.Event) -> int:
    """Compute the lists of the entities and sources with at least ``claims`` claims, until ``stop``; how many.

    Each list is read from the store the process serves at the time (one that follows a writer switches stores).
    """
    ns, parts, start, done = Namespaces(state.settings.base_iri), state.parts, time.perf_counter(), 0
    if not claims:
        return 0
    try:
        for row in select_rows(run_query(state.store, ns, "busiest")):
            if stop.is_set() or int(row["claims"]) < claims or parts.size >= parts.max_bytes // 2:
                break
            if boolean(row["source"]):
                state.spans.targets(state.store, ns, row["about"])
            else:  # its claims' heads, and the details of the claims its etiology shows first
                etiology(state.store, ns, row["about"], kept=parts)
            done += 1
    except OSError as exc:  # the store went away (a follower's old checkout) or failed: the next readers compute
        LOG.warning("stopped computing the largest lists at start: %s", exc)
    LOG.info("computed the lists of %d entities and sources with %d claims or more in %.1f s", done, claims,
             time.perf_counter() - start)
    return done
