"""Dependencies injected into routes: settings, the store, and what is kept between answers."""

from fastapi import Request

from api.cache import AnswerStore
from api.query_pool import QueryPool, RemoteRunner
from kg.settings import Settings
from kg.store import KGStore


async def get_store(request: Request) -> KGStore:
    """The store the application was started with (async: FastAPI runs plain functions in a thread)."""
    store: KGStore = request.app.state.store
    return store


async def app_settings(request: Request) -> Settings:
    """The settings the application was started with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_pool(request: Request) -> QueryPool | RemoteRunner:
    """What answers SPARQL queries: worker processes (embedded store) or the remote server."""
    pool: QueryPool | RemoteRunner = request.app.state.pool
    return pool


async def kept_parts(request: Request) -> AnswerStore:
    """Where what each claim contributes to lists of claims is kept between answers (``api.cache.claim_parts``)."""
    parts: AnswerStore = request.app.state.parts
    return parts
