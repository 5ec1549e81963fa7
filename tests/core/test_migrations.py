"""An existing database upgrades with `migrate`: the kernel's tables, which lived in the
`config` app, are adopted by `core` with their rows and content types."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from core import services
from core.models import ApiKey, SchedulerJob

OLD_TABLES = {ApiKey: "config_apikey", SchedulerJob: "config_schedulerjob"}


def _make_it_look_like_before_the_move() -> None:
    """The database as the old code left it: config_* tables, config content types, and no
    record of core's first migration."""
    call_command("migrate", "core", "0001", verbosity=0)  # later tables did not exist yet
    with connection.schema_editor() as editor:
        for model, old_table in OLD_TABLES.items():
            editor.alter_db_table(model, model._meta.db_table, old_table)
    ContentType.objects.filter(app_label="core").update(app_label="config")
    MigrationRecorder.Migration.objects.filter(app="core").delete()


# Transactional: the test renames real tables, which a test transaction cannot hold on SQLite.
@pytest.mark.django_db(transaction=True)
def test_it_adopts_the_tables_the_config_app_left_with_their_rows():
    api_key, raw_key = services.api_key_create(spec=services.ApiKeySpec(name="kept"))
    content_type_id = ContentType.objects.get_for_model(ApiKey).pk
    _make_it_look_like_before_the_move()
    assert {"config_apikey", "config_schedulerjob"} <= set(connection.introspection.table_names())

    call_command("migrate", "core", verbosity=0)

    tables = set(connection.introspection.table_names())
    assert {"core_apikey", "core_schedulerjob"} <= tables
    assert not {"config_apikey", "config_schedulerjob"} & tables
    assert ApiKey.objects.get_from_key(raw_key).pk == api_key.pk  # the key still works
    ContentType.objects.clear_cache()
    assert ContentType.objects.get(pk=content_type_id).app_label == "core"  # permissions follow
