"""A maintained count of events by end time, on PostgreSQL (`selectors.not_ended_event_rows`).

The global event list's exact `total` (events that have not ended) was a COUNT(*) over every
future event: 40 ms at 360,000 events, 180 ms at 1,000,000. Statement-level triggers append
(hour bucket of the end, +/- n) rows to `scheduling_event_end_count`; the count is the sum of the
buckets after the current one plus an exact COUNT over the current bucket's range, in one
statement (one snapshot: exact). Writers only append, so concurrent horizon workers never wait
for each other (a counter row per bucket would serialise them, and could deadlock);
`services.event_end_counts_compact` folds the rows into one per bucket. SQLite keeps COUNT(*).
"""

from django.db import migrations

# The bucket of an end time is the end of the hour (UTC) it lies in, exclusive: an event ending
# at `end` is counted in the row of `scheduling_event_end_bucket(end)`. One function for the
# triggers and the reader, so they cannot disagree. An hour, measured at 360,000 events: the
# current bucket holds ~170 events (a day's ~4,200 cost 4-15 ms of heap visits while the
# visibility map is not set, which the status pass keeps clearing on today's pages), and the
# 90-day horizon folds into ~2,200 rows (0.3 ms to sum).
FORWARD = """
CREATE FUNCTION scheduling_event_end_bucket(t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_bin('1 hour', t, '2000-01-01 00:00:00+00') + interval '1 hour';

CREATE TABLE scheduling_event_end_count (
    bucket timestamptz NOT NULL,
    n bigint NOT NULL
);
CREATE INDEX scheduling_event_end_count_bucket ON scheduling_event_end_count (bucket);

CREATE FUNCTION scheduling_event_end_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scheduling_event_end_count (bucket, n)
    SELECT scheduling_event_end_bucket(end_date_time), COUNT(*) FROM new_rows GROUP BY 1;
    RETURN NULL;
END $$;

CREATE FUNCTION scheduling_event_end_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scheduling_event_end_count (bucket, n)
    SELECT scheduling_event_end_bucket(end_date_time), -COUNT(*) FROM old_rows GROUP BY 1;
    RETURN NULL;
END $$;

-- An update moves events between buckets only when it changes an end time: the difference of
-- the two multisets, no join. A status pass nets zero in every bucket and appends nothing.
CREATE FUNCTION scheduling_event_end_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scheduling_event_end_count (bucket, n)
    SELECT bucket, SUM(n) FROM (
        SELECT scheduling_event_end_bucket(end_date_time) AS bucket, 1 AS n FROM new_rows
        UNION ALL
        SELECT scheduling_event_end_bucket(end_date_time), -1 FROM old_rows
    ) AS moved GROUP BY bucket HAVING SUM(n) <> 0;
    RETURN NULL;
END $$;

-- TRUNCATE (Django's flush between tests) empties the events: the counts go with them.
CREATE FUNCTION scheduling_event_end_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM scheduling_event_end_count;
    RETURN NULL;
END $$;

CREATE TRIGGER scheduling_event_end_count_insert AFTER INSERT ON scheduling_maintenanceevent
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scheduling_event_end_count_insert();
CREATE TRIGGER scheduling_event_end_count_delete AFTER DELETE ON scheduling_maintenanceevent
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scheduling_event_end_count_delete();
-- No `UPDATE OF end_date_time`: PostgreSQL refuses transition tables beside a column list.
CREATE TRIGGER scheduling_event_end_count_update AFTER UPDATE ON scheduling_maintenanceevent
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scheduling_event_end_count_update();
CREATE TRIGGER scheduling_event_end_count_truncate AFTER TRUNCATE ON scheduling_maintenanceevent
    FOR EACH STATEMENT EXECUTE FUNCTION scheduling_event_end_count_truncate();

-- The events stored so far; creating the triggers locked out writers until this commits.
INSERT INTO scheduling_event_end_count (bucket, n)
SELECT scheduling_event_end_bucket(end_date_time), COUNT(*)
FROM scheduling_maintenanceevent GROUP BY 1;
"""

BACKWARD = """
DROP TRIGGER scheduling_event_end_count_insert ON scheduling_maintenanceevent;
DROP TRIGGER scheduling_event_end_count_delete ON scheduling_maintenanceevent;
DROP TRIGGER scheduling_event_end_count_update ON scheduling_maintenanceevent;
DROP TRIGGER scheduling_event_end_count_truncate ON scheduling_maintenanceevent;
DROP FUNCTION scheduling_event_end_count_insert();
DROP FUNCTION scheduling_event_end_count_delete();
DROP FUNCTION scheduling_event_end_count_update();
DROP FUNCTION scheduling_event_end_count_truncate();
DROP TABLE scheduling_event_end_count;
DROP FUNCTION scheduling_event_end_bucket(timestamptz);
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0006_perftick_tick_indexes"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD), elidable=False),
    ]
