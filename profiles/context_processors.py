"""What every page's site chrome (templates/base.html) shows about the viewer."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from . import access
from .models import Role


def viewer(request: HttpRequest) -> dict[str, Callable[[], str]]:
    """`viewer_role`: the viewer's main role, in words ("" for none). A callable, which the template calls when
    it shows the header, so an htmx fragment never asks; access.user_roles keeps the answer on the user."""

    def viewer_role() -> str:
        role = access.primary_role(request.user)
        return str(Role(role).label) if role else ""

    return {"viewer_role": viewer_role}
