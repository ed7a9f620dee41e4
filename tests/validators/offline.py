"""What every validator script here starts with: no network (each attempt is noted and refused)."""

import socket


def offline(attempts: list[str]) -> None:
    """Refuse every network connection of this process, noting where it went in ``attempts``."""
    def refuse(self: socket.socket, address: object, *args: object) -> None:
        attempts.append(str(address))
        raise OSError(f"network access refused: {address}")
    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]


def bmt_without_network(schema: str) -> None:
    """bmt 1.4 (kgx's environment): its Toolkit reads ``schema`` by default, and an empty predicate map instead of the
    one it would download whatever it is given (checking names and validating do not read it)."""
    import bmt.toolkit

    class PredicateMap:
        text = "predicate mappings: []\n"

    bmt.toolkit.requests.get = lambda *args, **kwargs: PredicateMap()
    bmt.toolkit.Toolkit.__init__.__defaults__ = (schema, "none")
