"""The quote targets of each source's claims in the order of their spans, kept: a page of a source is a slice of it.

Oxigraph has no range index: ordering the spans of a source by offset reads every span (~4 s for a source with 100,000
claims), and did so for each page of its document. Each serving process orders a source's spans once and keeps the
order: a claim write puts its claims' quotes in their places (``changed``, with the answers a write renews:
``api.writes.renew_answers``); an admin write, which may change anything, has every order read again.
"""

import bisect
import threading

from kg.named_queries import run_query
from kg.namespaces import Namespaces
from kg.store import KGStore, select_rows

Span = tuple[int, int, str]  # start, end, quote target: the order of a source's quotes


class SourceSpans:
    """The quote targets of each source asked for, in the order of their spans (start, end, then target IRI)."""

    def __init__(self) -> None:
        self._order: dict[str, tuple[list[Span], list[str]]] = {}  # spans in order, and their targets
        self._changes = 0  # moved on by every write: an order read across one is not kept (it may predate the write)
        self._lock = threading.Lock()

    def targets(self, store: KGStore, ns: Namespaces, source: str) -> list[str]:
        """The quote targets of ``source``'s claims in the order of their spans."""
        with self._lock:
            kept, changes = self._order.get(source), self._changes
        if kept is not None:
            return kept[1]
        rows = select_rows(run_query(store, ns, "source-spans", SOURCE=source))
        spans = sorted((int(r["start"]), int(r["end"]), r["target"]) for r in rows)
        targets = [target for *_, target in spans]
        with self._lock:
            if self._changes == changes:
                self._order[source] = (spans, targets)
        return targets

    def changed(self, store: KGStore, ns: Namespaces, touched: set[str] | None) -> None:
        """After a write that touched ``touched`` (``None``: anything): its claims' quotes put in their sources' orders.

        A claim write touches its claims, and the quotes it adds are looked up by them; ``None`` forgets every order.
        """
        with self._lock:
            self._changes += 1
            if touched is None:
                self._order.clear()
                return
            sources = touched & self._order.keys()
        if not sources:
            return
        rows = select_rows(run_query(store, ns, "claim-spans", CLAIM=sorted(touched)))
        with self._lock:
            for r in rows:
                if r["source"] not in sources or r["source"] not in self._order:
                    continue
                spans, targets = self._order[r["source"]]
                span = (int(r["start"]), int(r["end"]), r["target"])
                place = bisect.bisect_left(spans, span)
                if place == len(spans) or spans[place] != span:  # (a superseded claim's quote is already there)
                    spans.insert(place, span)
                    targets.insert(place, span[2])
