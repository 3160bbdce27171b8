"""Standards and data formats in and out of the mastery app, one module or package per standard
(case/: CASE frameworks)."""
