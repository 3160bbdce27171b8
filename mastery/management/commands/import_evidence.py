"""`python manage.py import_evidence FILE.csv [--source S] [--recorded-by USERNAME] [--framework F]`

Validates the whole file first (mastery/evidence_csv.py describes the columns). Any error: every bad
row is reported as `FILE:LINE: column: message` on stderr, nothing is stored, and the command fails.
Otherwise all rows are stored in one transaction, in batches of 5,000, and the command prints how many
were stored and how many were already present (same source and external_id as a stored row).
Rows without an external_id are stored each time the file is imported.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from mastery.evidence_csv import ParsedEvidence, parse_evidence_csv
from mastery.services import EVIDENCE_BULK_MAX, EvidenceBatchError, evidence_record_bulk
from profiles.models import User

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Import evidence from a CSV file: all rows or, if any row is bad, none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file (UTF-8, with or without BOM) with a header line")
        parser.add_argument("--source", help='source of rows without a source column value (default "csv")')
        parser.add_argument("--recorded-by", metavar="USERNAME", help="the user recorded as having entered the rows")
        parser.add_argument(
            "--framework", help="framework (id, source identifier or name) of rows without a framework column value"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        recorded_by = None
        if options["recorded_by"]:
            recorded_by = User.objects.filter(username=options["recorded_by"]).first()
            if recorded_by is None:
                raise CommandError("--recorded-by: no user with this username.")

        parsed = parse_evidence_csv(data, source=options["source"], framework=options["framework"])
        if parsed.errors:
            for error in parsed.errors:
                self.stderr.write(error.format(str(path)))
            lines = len({error.line for error in parsed.errors})
            logger.info("import_evidence refused: %d errors on %d lines", len(parsed.errors), lines)
            raise CommandError(f"{len(parsed.errors)} error(s) on {lines} line(s) of {path}; nothing was stored.")

        created = self.store(parsed, recorded_by, str(path))
        total = len(parsed.items)
        logger.info(
            "import_evidence: %d rows, %d stored, %d already present, recorded_by=%s",
            total,
            created,
            total - created,
            recorded_by.pk if recorded_by else None,
        )
        self.stdout.write(f"{path}: {total} rows: {created} stored, {total - created} already present.")

    def store(self, parsed: ParsedEvidence, recorded_by: User | None, filename: str) -> int:
        created = 0
        try:
            with transaction.atomic():
                for start in range(0, len(parsed.items), EVIDENCE_BULK_MAX):
                    results = evidence_record_bulk(
                        items=parsed.items[start : start + EVIDENCE_BULK_MAX], recorded_by=recorded_by
                    )
                    created += sum(result.created for result in results)
        except EvidenceBatchError as refused:  # the data changed since validation (a student removed, say)
            for index, fields in sorted(refused.errors.items()):
                for field, messages in fields.items():
                    for message in messages:
                        self.stderr.write(f"{filename}:{parsed.lines[start + index]}: {field}: {message}")
            raise CommandError(f"The database changed while importing {filename}; nothing was stored.") from None
        return created
