"""The pipeline: source readers, builds, bulk import, the write gate, the KGX export and the command line.

It reads the core (``kg``) and the checks above it (``shapes``, ``ontology``); the web package (``api``) sits above it,
and the command line starts the server through one function, ``api.processes.serve``.
"""
