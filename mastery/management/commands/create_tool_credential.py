"""`python manage.py create_tool_credential NAME --source S (--school CODE | --district CODE) [--created-by U]`

Makes a credential for a learning tool to send xAPI statements (/xapi/statements) and Caliper events
(/caliper/events) with HTTP Basic auth. Prints the key and the secret; the secret is shown this once
(only its hash is stored): hand it to the tool's administrator, then it cannot be read again.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mastery.interop.tools import tool_credential_create
from profiles.models import District, School, User


class Command(BaseCommand):
    help = "Create a learning tool's credential for the xAPI and Caliper endpoints; prints its secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The tool's name, e.g. 'Math Practice'")
        parser.add_argument("--source", required=True, help="Evidence source of what it sends, e.g. 'mathpractice'")
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--school", help="Code of the one school the tool writes for")
        scope.add_argument("--district", help="Code of the district the tool writes for")
        parser.add_argument("--created-by", help="Username of the admin making it")

    def handle(self, *args: Any, **options: Any) -> None:
        school = district = created_by = None
        if options["school"]:
            schools = list(School.objects.filter(code=options["school"])[:2])
            if len(schools) != 1:
                raise CommandError(f"{len(schools) or 'No'} schools with code {options['school']!r}.")
            school = schools[0]
        else:
            district = District.objects.filter(code=options["district"]).first()
            if district is None:
                raise CommandError(f"No district with code {options['district']!r}.")
        if options["created_by"]:
            created_by = User.objects.filter(username=options["created_by"]).first()
            if created_by is None:
                raise CommandError(f"No user {options['created_by']!r}.")
        try:
            made = tool_credential_create(
                name=options["name"], source=options["source"], school=school, district=district, created_by=created_by
            )
        except ValidationError as error:
            problems = (f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
            raise CommandError("; ".join(problems)) from None
        self.stdout.write(f"key:    {made.credential.key}")
        self.stdout.write(f"secret: {made.secret}")
        self.stdout.write("The secret is shown only now; store it in the tool's configuration.")
