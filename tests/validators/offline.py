"""What every validator script here starts with: no network (each attempt is noted and refused)."""

import socket


def offline(attempts: list[str]) -> None:
    """Refuse every network connection of this process, noting where it went in ``attempts``."""
    def refuse(self: socket.socket, address: object, *args: object) -> None:
        attempts.append(str(address))
        raise OSError(f"network access refused: {address}")
    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]
