"""`python manage.py import_case FILE.json`

Imports a CASE 1.0/1.1 CFPackage as a framework (mastery/interop/case describes the mapping). The whole
package is checked first; any error is printed as `JSON path (identifier): message [name]` on stderr,
nothing is stored, and the command fails. Warnings (deviations read through) are printed too. A second
import of the same file changes nothing; items gone from the file are deprecated, never deleted.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mastery.interop.case import CasePackageError, case_import

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Import a CASE 1.0/1.1 JSON package (CFPackage) as a framework: all of it or, on any error, nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CFPackage JSON file (UTF-8)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        try:
            report = case_import(data=data)
        except CasePackageError as exc:
            for problem in exc.problems:
                self.stderr.write(f"{path}: {problem}")
            logger.info("import_case refused: %d errors", len(exc.problems))
            raise CommandError(f"{len(exc.problems)} error(s) in {path}; nothing was stored.") from None
        for warning in report.warnings:
            self.stderr.write(f"{path}: warning: {warning}")
        for line in report.lines():
            self.stdout.write(line)
        logger.info("import_case: framework %s, %d writes", report.framework_id, report.writes)
