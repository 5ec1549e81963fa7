"""The global list's `total` stays exact on PostgreSQL, where it is read from the counts the
triggers of migration scheduling 0007 maintain (`selectors.not_ended_event_rows`): after every
kind of write the events table sees, around a bucket boundary, and under concurrent writers.
On SQLite (a plain COUNT) the same checks hold trivially."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from core.models import ApiKey
from scheduling import selectors
from scheduling.models import Maintenance, MaintenanceEvent
from scheduling.services import event_end_counts_compact, events_advance_statuses

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="the maintained count is PostgreSQL's")

# The clock of these tests; buckets are hours, so one ends at midnight UTC.
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 1, 6, tzinfo=UTC)


def total(now: datetime = NOW) -> int:
    return selectors.not_ended_event_rows(now=now, offset=0, limit=1)[0]


def exact(now: datetime = NOW) -> int:
    return MaintenanceEvent.objects.filter(end_date_time__gt=now).count()


def count_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM scheduling_event_end_count")
        return cursor.fetchone()[0]


def window(title: str = "Window") -> Maintenance:
    return Maintenance.objects.create(
        title=title, start_date_time=NOW, rrule="FREQ=DAILY", duration_seconds=3600
    )


def events(maintenance: Maintenance, ends: list[datetime]) -> list[MaintenanceEvent]:
    """Events of `maintenance` ending at `ends`, in one INSERT."""
    return MaintenanceEvent.objects.bulk_create(
        MaintenanceEvent(
            maintenance=maintenance,
            occurrence=end - timedelta(minutes=30),
            start_date_time=end - timedelta(minutes=30),
            end_date_time=end,
        )
        for end in ends
    )


def spread(days: int, *, start: datetime = NOW - timedelta(days=2)) -> list[datetime]:
    """Ends every 7 hours over `days` days, before and after NOW and midnight."""
    return [start + timedelta(hours=7 * n) for n in range(days * 24 // 7)]


def assert_exact(*moments: datetime) -> None:
    for moment in moments or (NOW,):
        assert total(moment) == exact(moment), moment


@pytest.mark.django_db
def test_the_total_is_the_count_after_inserts_deletes_and_updates():
    maintenance = window()
    stored = events(maintenance, spread(20))
    assert_exact(NOW, MIDNIGHT, NOW - timedelta(days=3), NOW + timedelta(days=30))
    events(window("Second"), spread(5, start=NOW + timedelta(minutes=1)))
    assert_exact()

    MaintenanceEvent.objects.filter(pk__in=[e.pk for e in stored[::3]]).delete()
    assert_exact(NOW, MIDNIGHT)
    stored[1].delete()  # one row, the way the services delete one
    assert_exact()

    # A status pass changes no end: it appends no count row.
    rows = count_rows() if ON_POSTGRES else 0
    events_advance_statuses(now=NOW)
    assert (count_rows() if ON_POSTGRES else 0) == rows
    assert_exact()


@pytest.mark.django_db
def test_time_edits_across_the_bucket_boundary_and_across_now_keep_it_exact():
    maintenance = window()
    before_now, late_today, tomorrow, far = events(
        maintenance,
        [
            NOW - timedelta(minutes=5),
            MIDNIGHT - timedelta(minutes=1),
            MIDNIGHT + timedelta(hours=3),
            MIDNIGHT + timedelta(days=40),
        ],
    )
    # On hour boundaries, and inside an hour whose events end on both sides of the moment
    # (the current bucket, counted exactly rather than summed).
    moments = (
        NOW,
        NOW + timedelta(minutes=2),
        NOW + timedelta(hours=6),
        MIDNIGHT - timedelta(minutes=30),
        MIDNIGHT,
        MIDNIGHT + timedelta(hours=1),
    )
    assert_exact(*moments)

    def move(event: MaintenanceEvent, end: datetime) -> None:
        MaintenanceEvent.objects.filter(pk=event.pk).update(
            start_date_time=end - timedelta(minutes=30), end_date_time=end
        )
        assert_exact(*moments)

    move(before_now, NOW + timedelta(minutes=5))  # across now and into the next hour
    move(late_today, MIDNIGHT + timedelta(minutes=1))  # into the next bucket
    move(tomorrow, NOW - timedelta(hours=1))  # back across now and the boundary
    move(far, MIDNIGHT)  # exactly on the boundary: the next hour's bucket
    # Several events moved by one statement, some across, some not.
    MaintenanceEvent.objects.update(end_date_time=MIDNIGHT + timedelta(days=2))
    assert_exact(*moments)


@pytest.mark.django_db
def test_a_maintenance_deleted_takes_its_events_out_of_the_count():
    kept, gone = window("Kept"), window("Gone")
    events(kept, spread(4))
    events(gone, spread(9, start=NOW - timedelta(hours=1)))
    gone.delete()  # Django cascades with DELETE statements
    assert exact() > 0
    assert_exact(NOW, MIDNIGHT)


@pytest.mark.django_db
@postgres_only
def test_compaction_folds_the_rows_and_keeps_the_total():
    maintenance = window()
    for day in range(6):  # six statements, each touching a few buckets
        events(maintenance, spread(3, start=NOW + timedelta(days=day, minutes=day)))
    MaintenanceEvent.objects.filter(end_date_time__lt=NOW + timedelta(days=1)).delete()
    moments = (NOW, MIDNIGHT, NOW + timedelta(days=4))
    expected = [exact(moment) for moment in moments]
    before = count_rows()

    folded, kept = event_end_counts_compact()

    assert (folded, kept) == (before, count_rows())
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(DISTINCT bucket) FROM scheduling_event_end_count")
        assert cursor.fetchone()[0] == kept < before  # one row per bucket that is not empty
    assert [total(moment) for moment in moments] == expected
    assert event_end_counts_compact() == (kept, kept)  # twice: nothing more to fold

    MaintenanceEvent.objects.all().delete()
    event_end_counts_compact()
    assert count_rows() == 0  # buckets that net zero go
    assert total() == 0


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_truncate_empties_the_counts():
    events(window(), spread(5))
    call_command("flush", interactive=False, verbosity=0)  # TRUNCATE, as between tests
    assert count_rows() == 0
    assert total() == 0


@pytest.mark.django_db
def test_the_total_is_exact_on_either_side_of_a_bucket_boundary(api_client):
    maintenance = window()
    instant = timedelta(microseconds=1)
    events(
        maintenance,
        [MIDNIGHT - instant, MIDNIGHT, MIDNIGHT + instant, MIDNIGHT + timedelta(days=1)],
    )
    _, raw_key = ApiKey.objects.create_key(name="reader", read_only=True)
    for moment in (MIDNIGHT - 2 * instant, MIDNIGHT - instant, MIDNIGHT, MIDNIGHT + instant):
        with time_machine.travel(moment, tick=False):
            response = api_client.get(
                "/api/v4/maintenances/events?limit=1",
                headers={"Authorization": f"Bearer {raw_key}"},
            )
            assert response.status_code == 200, response.content
            assert response.json()["total"] == exact(moment), moment
    assert [total(m) for m in (MIDNIGHT - 2 * instant, MIDNIGHT, MIDNIGHT + instant)] == [4, 2, 1]


def _in_thread(work, failures: list) -> threading.Thread:
    def run():
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_neither_wait_for_each_other_nor_lose_a_count():
    first, second = window("First"), window("Second")
    ends = spread(10)  # the same buckets for both writers
    inserted, committed, failures = threading.Event(), threading.Event(), []

    def slow_writer():
        with transaction.atomic():
            events(first, ends)
            inserted.set()
            # Still open: the other writer's insert into the same buckets must not wait.
            assert committed.wait(timeout=10), "the second writer waited for the first"

    def fast_writer():
        assert inserted.wait(timeout=10)
        with transaction.atomic():
            events(second, ends)
            MaintenanceEvent.objects.filter(maintenance=second).last().delete()  # a future one
        # The first writer's rows are not committed: neither count sees them.
        assert total() == exact() == len([end for end in ends if end > NOW]) - 1
        committed.set()

    threads = [_in_thread(slow_writer, failures), _in_thread(fast_writer, failures)]
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert_exact(NOW, MIDNIGHT, NOW - timedelta(days=5))


@pytest.mark.postgres
@postgres_only
@pytest.mark.django_db(transaction=True)
def test_compaction_beside_an_uncommitted_writer_keeps_its_rows():
    maintenance = window()
    events(maintenance, spread(6))
    inserted, compacted, failures = threading.Event(), threading.Event(), []

    def writer():
        with transaction.atomic():
            events(window("Late"), spread(6, start=NOW + timedelta(minutes=3)))
            inserted.set()
            assert compacted.wait(timeout=10), "compaction waited for the writer"

    def compactor():
        assert inserted.wait(timeout=10)
        event_end_counts_compact()
        compacted.set()

    threads = [_in_thread(writer, failures), _in_thread(compactor, failures)]
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert_exact(NOW, MIDNIGHT)
    event_end_counts_compact()
    assert_exact(NOW, MIDNIGHT)
