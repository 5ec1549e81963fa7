from django.core.management.base import CommandError

from core import services
from core.audit import SystemCommand
from core.errors import InvalidInput


class Command(SystemCommand):
    help = "Create an API key, printed once alone on the last line; only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who or what uses the key (shown in the admin)")
        parser.add_argument(
            "--read-only", action="store_true", help="the key may only read (GET); writes get 403"
        )

    def handle(self, *args, name: str, read_only: bool, **options):
        try:
            api_key, raw_key = services.api_key_create(
                spec=services.ApiKeySpec(name=name, read_only=read_only)
            )
        except InvalidInput:
            raise CommandError(f"NAME must be 1 to {services.NAME_MAX} characters") from None
        access = "read-only" if read_only else "read-write"
        self.stdout.write(
            f"Created {access} API key '{api_key.name}' (prefix {api_key.prefix}). "
            "Store it now: it cannot be shown again."
        )
        self.stdout.write(raw_key)
