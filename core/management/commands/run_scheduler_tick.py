from django.core.management.base import CommandError

from core.audit import SystemCommand
from core.jobs import periodic_jobs


class Command(SystemCommand):
    help = (
        "Run every periodic job once, here and now, and print what each did. For operators, "
        "for deployments that run the scheduler from cron instead of Celery beat, and for "
        "debugging. Safe beside a running beat: every job is safe to run twice at once."
    )

    def handle(self, *args, **options):
        failed = []
        for job in periodic_jobs():
            try:
                result = job.run_inline()
            except Exception as exc:  # noqa: BLE001 - report it and run the other jobs
                failed.append(job.name)
                self.stderr.write(f"{job.name}: failed: {exc.__class__.__name__}: {exc}")
                continue
            self.stdout.write(f"{job.name}: {result.summary}")
        if failed:
            raise CommandError(f"{len(failed)} job(s) failed: {', '.join(failed)}")
