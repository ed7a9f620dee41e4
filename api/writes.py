"""After a write through the gate (``pipeline.gate``): what the server does so that the next answers see it."""

import asyncio
import datetime as dt
import logging

from fastapi import FastAPI, Request
from starlette.datastructures import State

from api.dumps import forget_derived
from kg.named_queries import run_query
from kg.namespaces import Namespaces
from kg.store import KGStore, select_rows

LOG = logging.getLogger(__name__)
FOLLOWER_WAIT_S = 2.0  # how long, beyond renewing its answers, a write waits for each serving process to switch to it


async def after_write(request: Request, touched: set[str] | None = None) -> None:
    """Make the next answers see the write: new Last-Modified, dumps, query-worker snapshot, data version, answers.

    The new data version is published to the other serving processes (``api.board``), when there are any.

    The kept answers that read what the write ``touched`` (``None``: anything) are computed again, for up to
    ``answer_renew_ms`` while the old ones are still served, as the query workers switch to the new snapshot (no kept
    answer reads them: ``/sparql`` answers are not kept); those left are dropped before the write is acknowledged, so
    that no answer kept before the write is served after it, and computed again in the background.
    """
    state = request.app.state
    state.loaded_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    forget_derived(state)
    state.version += 1
    if state.board is not None:  # the other serving processes switch to the new version while this one renews answers
        await asyncio.to_thread(state.board.publish, state.store, state.version, touched, state.loaded_at)
    await asyncio.gather(_refresh_queries(state, state.store), renew_answers(request.app, touched))
    if state.board is not None:  # every serving process answers from the new version before the write is acknowledged
        await state.board.wait_for_followers(state.version, state.settings.answer_renew_ms / 1000 + FOLLOWER_WAIT_S)


async def _refresh_queries(state: State, store: KGStore) -> None:
    """Have the query workers answer from ``store`` as it is after a write here."""
    try:
        await state.pool.refresh(store)
    except (RuntimeError, OSError) as exc:  # the write is committed; queries answer from the older snapshot meanwhile
        LOG.error("query workers not refreshed after a write: %s", exc)


async def renew_answers(app: FastAPI, touched: set[str] | None) -> None:
    """Compute again the kept answers that read what changed (``touched``; ``None``: anything).

    For up to ``answer_renew_ms``, while the old ones are still served; those not done by then are dropped and computed
    again in the background. After a write here, and in a serving process that switches to a newer version
    (``api.processes``).
    """
    state = app.state
    await asyncio.to_thread(state.spans.changed, state.store, Namespaces(state.settings.base_iri), touched)
    state.parts.stale(touched)  # the claims' parts that read it: dropped at once
    stale = state.answers.stale(touched)
    await app.cached.renew(stale, state.settings.answer_renew_ms / 1000)  # type: ignore[attr-defined]
    task = asyncio.create_task(app.cached.refresh(state.answers.drop(stale)))  # type: ignore[attr-defined]
    state.refreshing.add(task)  # held until done: a task nobody references may be collected
    task.add_done_callback(state.refreshing.discard)


def touched_by_claims(store: KGStore, ns: Namespaces, claims: list[str]) -> set[str]:
    """What writing ``claims`` touched (a new claim, and the one it supersedes): them, their subjects, objects, sources."""
    rows = select_rows(run_query(store, ns, "claim-statements", CLAIM=claims))
    return set(claims) | {r[v] for r in rows for v in ("subject", "object", "source") if r.get(v)}
