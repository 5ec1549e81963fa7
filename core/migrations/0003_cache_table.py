"""The database cache's table (settings CACHES when CACHE_URL is not set).

The throttling counters and the admin lockout (django-axes) live in Django's cache; with the
database cache the table must exist wherever `migrate` ran, so a deployment needs no extra
`createcachetable` step. With a Redis cache there is nothing to create.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_record")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
