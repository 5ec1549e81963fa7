from django.urls import path
from rest_framework.routers import SimpleRouter

from maintenance.api import feeds, reports, views

router = SimpleRouter(trailing_slash=False)
router.register("assets", views.AssetViewSet, basename="v1-asset")
router.register("technicians", views.TechnicianViewSet, basename="v1-technician")
router.register("plans", views.PlanViewSet, basename="v1-plan")
router.register("tasks", views.TaskViewSet, basename="v1-task")
router.register("report-schedules", reports.ReportScheduleViewSet, basename="v1-report-schedule")
router.register("reports", reports.ReportViewSet, basename="v1-report")
router.register("calendars", views.HolidayCalendarViewSet, basename="v1-holiday-calendar")

urlpatterns = [
    path("tasks.ics", feeds.TaskFeedView.as_view(), name="v1-tasks-feed"),
    path("compliance", views.ComplianceView.as_view(), name="v1-compliance"),
    path("counters/readings", views.CounterReadingsView.as_view(), name="v1-counter-readings"),
    path(
        "reports/<str:pk>/files/<str:name>",
        reports.ReportFileView.as_view(),
        name="v1-report-file",
    ),
    *router.urls,
]
