"""`python manage.py import_evidence FILE.csv [--source S] [--recorded-by USERNAME] [--framework F]`

Validates the whole file first (mastery/evidence_csv.py describes the columns). Any error: every bad
row is reported as `FILE:LINE: column: message` on stderr, nothing is stored, and the command fails.
Otherwise all rows are stored in one transaction, and the command prints how many were stored and how
many were already present (same source and external_id as a stored row, or as an identical earlier row).
Rows without an external_id are stored each time the file is imported.

The file is read once, in chunks: each row is checked and its normalized values are staged in a temporary
table of the transaction (binary COPY) while the next rows are read; after the last row the staged rows
move into the evidence table with one INSERT. Memory stays flat whatever the file's size.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction

from mastery.evidence_csv import SERVICE_FIELD_TO_COLUMN, StagedEvidence, stage_evidence_csv
from mastery.services import EvidenceBatchError, EvidenceImport
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
        recorded_by = None
        if options["recorded_by"]:
            recorded_by = User.objects.filter(username=options["recorded_by"]).first()
            if recorded_by is None:
                raise CommandError("--recorded-by: no user with this username.")
        try:
            with path.open("rb") as file:
                staged, created = self.import_file(file, options, recorded_by, str(path))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None

        if staged.errors:
            for error in staged.errors:
                self.stderr.write(error.format(str(path)))
            lines = len({error.line for error in staged.errors})
            logger.info("import_evidence refused: %d errors on %d lines", len(staged.errors), lines)
            raise CommandError(f"{len(staged.errors)} error(s) on {lines} line(s) of {path}; nothing was stored.")
        total = staged.rows
        logger.info(
            "import_evidence: %d rows, %d stored, %d already present, recorded_by=%s",
            total,
            created,
            total - created,
            recorded_by.pk if recorded_by else None,
        )
        self.stdout.write(f"{path}: {total} rows: {created} stored, {total - created} already present.")

    def import_file(
        self, file: BinaryIO, options: dict[str, Any], recorded_by: User | None, filename: str
    ) -> tuple[StagedEvidence, int]:
        """The file read and checked whole, then stored in the same transaction if it has no error: (what was
        read, how many rows were stored)."""
        try:
            with transaction.atomic():
                staging = EvidenceImport()
                staged = stage_evidence_csv(file, staging, source=options["source"], framework=options["framework"])
                if staged.errors:
                    transaction.set_rollback(True)
                    return staged, 0
                return staged, staging.store(recorded_by.pk if recorded_by else None)
        except EvidenceBatchError as refused:  # the data changed since the file was checked (a student removed, say)
            for line, fields in sorted(refused.errors.items()):
                for field, messages in fields.items():
                    for message in messages:
                        self.stderr.write(f"{filename}:{line}: {SERVICE_FIELD_TO_COLUMN.get(field, field)}: {message}")
        except IntegrityError as exc:  # a student or competency deleted since (the foreign keys, checked at commit)
            logger.warning("import_evidence refused at commit: %s", exc)  # ids and constraint names only
        raise CommandError(f"The database changed while importing {filename}; nothing was stored.")
