from django.core.management.base import BaseCommand, CommandError

from core.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key, printed once alone on the last line; only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who or what uses the key (shown in the admin)")
        parser.add_argument(
            "--read-only", action="store_true", help="the key may only read (GET); writes get 403"
        )

    def handle(self, *args, name: str, read_only: bool, **options):
        name = name.strip()
        if not name or len(name) > 50:
            raise CommandError("NAME must be 1 to 50 characters")
        api_key, raw_key = ApiKey.objects.create_key(name=name, read_only=read_only)
        access = "read-only" if read_only else "read-write"
        self.stdout.write(
            f"Created {access} API key '{api_key.name}' (prefix {api_key.prefix}). "
            "Store it now: it cannot be shown again."
        )
        self.stdout.write(raw_key)
