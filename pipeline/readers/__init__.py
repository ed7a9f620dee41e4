"""Source readers: one per kind of source, each turning a source folder into claims of the core model.

``text`` reads text sources, ``table`` table sources, with the crosswalk (``crosswalk``) beside them; ``folder`` hands
each source of a curated folder to the reader of its kind. No reader imports another.
"""
