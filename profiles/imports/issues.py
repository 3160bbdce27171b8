"""Errors and warnings of an import, each naming the file, line and column it is about."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    file: str  # "users.csv"; "" for the whole set
    line: int  # 1 is the header; 0 when the issue is about the whole file
    column: str  # header name; "" when the issue is about the whole row or file
    message: str
    unit: str = "line"  # "record" for JSON collections, which have no lines worth naming

    def __str__(self) -> str:
        where = [part for part in (self.file, f"{self.unit} {self.line}" if self.line else "") if part]
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class Issues:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    unit: str = "line"

    def error(self, file: str, line: int, column: str, message: str) -> None:
        self.errors.append(Issue(file, line, column, message, self.unit))

    def warn(self, file: str, line: int, column: str, message: str) -> None:
        self.warnings.append(Issue(file, line, column, message, self.unit))
