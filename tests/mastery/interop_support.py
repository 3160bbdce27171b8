"""Helpers of the xAPI and Caliper endpoint tests (no tests here): a tool's Basic auth header, and a JSON
document with one field taken out or replaced."""

from __future__ import annotations

import base64
import copy
from typing import Any


def basic_auth(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def _parent(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    target = document
    for name in path[:-1]:
        target = target[name]
    return target


def without(document: dict[str, Any], *path: str) -> dict[str, Any]:
    """A deep copy of the document without the field at `path` (e.g. "result", "score", "raw")."""
    document = copy.deepcopy(document)
    del _parent(document, path)[path[-1]]
    return document


def replaced(document: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    """A deep copy of the document with `value` at `path`."""
    document = copy.deepcopy(document)
    _parent(document, path)[path[-1]] = value
    return document
