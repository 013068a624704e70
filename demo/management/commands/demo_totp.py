from django.core.management.base import BaseCommand, CommandError

from demo import seeding as demo


class Command(BaseCommand):
    help = "Print the current two-factor code of a demo user (seeded by seed_demo), for signing in without an authenticator app."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        try:
            code, seconds_left = demo.current_totp(email=email)
        except LookupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(code)
        self.stderr.write(f"valid for {seconds_left} more seconds")
