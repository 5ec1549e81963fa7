from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run every periodic job once, here and now, and print what each did. For operators, "
        "for deployments that run the scheduler from cron instead of Celery beat, and for "
        "debugging. Safe beside a running beat: every job is safe to run twice at once."
    )

    def handle(self, *args, **options):
        from config.celery import run_periodic_job
        from maintenance.tasks import execute_due_plans_inline_job, notify_overdue_tasks_job
        from notifications.tasks import retry_due_deliveries_job
        from scheduling.tasks import advance_event_statuses_job, extend_event_horizon_job

        # Horizon first, so an event that is due now exists before statuses advance.
        jobs = [
            ("extend_event_horizon", extend_event_horizon_job),
            ("advance_event_statuses", advance_event_statuses_job),
            ("execute_due_plans", execute_due_plans_inline_job),
            ("notify_overdue_tasks", notify_overdue_tasks_job),
            ("retry_due_deliveries", retry_due_deliveries_job),
        ]
        failed = []
        for name, job in jobs:
            try:
                result = run_periodic_job(name, job)
            except Exception as exc:  # noqa: BLE001 - report it and run the other jobs
                failed.append(name)
                self.stderr.write(f"{name}: failed: {exc.__class__.__name__}: {exc}")
                continue
            self.stdout.write(f"{name}: {result.summary}")
        if failed:
            raise CommandError(f"{len(failed)} job(s) failed: {', '.join(failed)}")
