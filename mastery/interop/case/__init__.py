"""CASE 1.0/1.1 JSON (CFPackage): import a framework, export one.

- parse: read and check a package (lenient: named warnings; errors name the JSON path and identifier)
- apply: store it in one transaction (upserts; vanished items deprecated; waiting associations)
- export: a framework as a CFPackage, stable under import → export → import
"""

from .apply import CaseImportReport, case_import
from .export import case_export
from .parse import CasePackageError, CaseProblem, case_parse

__all__ = ["CaseImportReport", "CasePackageError", "CaseProblem", "case_export", "case_import", "case_parse"]
