"""Writes and use cases of the mastery app, one module per use case; import them from here.

- prerequisites: the prerequisite graph (refuses cycles)
- evidence: recording evidence (one, bulk, CSV import), idempotent per (source, external id)
- mastery: recomputing mastery states from evidence, teacher overrides
- policies: mastery policy versions, including fitted BKT parameters
"""

from .prerequisites import prerequisite_add

__all__ = ["prerequisite_add"]
