"""Where the workplace's shared folder is (real response data, OneRoster/CASE/xAPI/Caliper samples).

It sits beside the checkout (`../shared`), but a clone elsewhere (CI's, a teammate's) finds it through
$PLPLATFORM_SHARED_DIR or at /work/shared. Tests that read it fail when it cannot be found: they are
real-data tests, not optional ones.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

CANDIDATES = (
    os.environ.get("PLPLATFORM_SHARED_DIR", ""),
    str(Path(settings.BASE_DIR).parent / "shared"),
    "/work/shared",
)


def shared_path(*parts: str) -> Path:
    """The first candidate shared folder holding `parts`; an AssertionError naming where it looked otherwise."""
    tried = [Path(folder, *parts) for folder in CANDIDATES if folder]
    for path in tried:
        if path.exists():
            return path
    raise AssertionError(
        f"Shared data {'/'.join(parts)} not found; looked at {', '.join(map(str, tried))}. "
        "Set PLPLATFORM_SHARED_DIR to the shared folder."
    )
