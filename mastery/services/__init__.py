"""Writes and use cases of the mastery app, one module per use case; import them from here.

- prerequisites: the prerequisite graph (refuses cycles)
- evidence: recording evidence (one, bulk, a whole file staged then stored at once), idempotent per
  (source, external id)
- mastery: recomputing mastery states from evidence, teacher overrides
- policies: mastery policy versions, including fitted BKT parameters
"""

from .evidence import (
    EVIDENCE_BULK_MAX,
    EvidenceBatchError,
    EvidenceImport,
    EvidenceRecorded,
    evidence_record,
    evidence_record_bulk,
    evidence_validate,
)
from .mastery import mastery_override_lift, mastery_override_set, mastery_recompute
from .prerequisites import prerequisite_add

__all__ = [
    "EVIDENCE_BULK_MAX",
    "EvidenceBatchError",
    "EvidenceImport",
    "EvidenceRecorded",
    "evidence_record",
    "evidence_record_bulk",
    "evidence_validate",
    "mastery_override_lift",
    "mastery_override_set",
    "mastery_recompute",
    "prerequisite_add",
]
