import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.models import Organisation, User


class Command(BaseCommand):
    help = (
        "Give a person a role in an organisation from the command line (e.g. the first platform staff member or lender "
        "admin). A new account gets a one-off temporary password, printed once, that must be changed at first sign-in."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--org", required=True, help="organisation short name (slug), e.g. platform")
        parser.add_argument("--role", required=True)
        parser.add_argument("--name", default="")

    def handle(self, *args, email, org, role, name, **options):
        organisation = Organisation.objects.filter(slug=org).first()
        if organisation is None:
            raise CommandError(f"no organisation {org!r}")
        is_new = not User.objects.filter(email=email.strip().lower()).exists()
        password = secrets.token_urlsafe(12) if is_new else None
        try:
            membership = services.add_member(
                organisation=organisation, email=email, full_name=name, role=role, password=password, must_change_password=True
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"{membership.user.email}: {membership.get_role_display()} of {organisation.name}")
        if password:
            self.stdout.write(f"temporary password (must be changed at first sign-in): {password}")
