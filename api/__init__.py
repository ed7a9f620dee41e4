"""The FastAPI application of poems-kg: one router per interface."""
