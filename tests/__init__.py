"""The tests of poems-kg (a package, so that ``tests`` is this folder even where a dependency installs its own)."""
