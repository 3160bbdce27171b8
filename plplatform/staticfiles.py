"""Static files taken from installed packages, one file at a time.

A STATICFILES_DIRS entry would publish a package's whole data folder: plotly's holds 25 MB of datasets and
templates beside the 4.8 MB plotly.min.js the dashboard loads. This finder serves and collects exactly the
files named in `PACKAGE_STATIC_FILES` (static path -> the file inside the installed package).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Literal, overload

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage


def _package_files() -> dict[str, Path]:
    return {path: Path(file) for path, file in settings.PACKAGE_STATIC_FILES.items()}


class PackageFileFinder(BaseFinder):
    def check(self, **kwargs: Any) -> list[CheckMessage]:
        return [
            Error(f"PACKAGE_STATIC_FILES: {file} (for {path}) does not exist.", id="plplatform.E001")
            for path, file in _package_files().items()
            if not file.is_file()
        ]

    @overload
    def find(self, path: str, find_all: Literal[False] = False) -> str | None: ...
    @overload
    def find(self, path: str, find_all: Literal[True]) -> list[str]: ...

    def find(self, path: str, find_all: bool = False) -> str | list[str] | None:
        file = _package_files().get(path)
        if file is None:
            return [] if find_all else None
        return [str(file)] if find_all else str(file)

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for path, file in _package_files().items():
            storage = FileSystemStorage(location=file.parent)
            # collectstatic writes to prefix/name, as it does for a prefixed STATICFILES_DIRS entry.
            storage.prefix = str(PurePosixPath(path).parent)  # type: ignore[attr-defined]
            yield file.name, storage
