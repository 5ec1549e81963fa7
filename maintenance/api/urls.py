from django.urls import path
from rest_framework.routers import SimpleRouter

from maintenance.api import views

router = SimpleRouter(trailing_slash=False)
router.register("assets", views.AssetViewSet, basename="v1-asset")
router.register("technicians", views.TechnicianViewSet, basename="v1-technician")
router.register("plans", views.PlanViewSet, basename="v1-plan")
router.register("tasks", views.TaskViewSet, basename="v1-task")
router.register("calendars", views.HolidayCalendarViewSet, basename="v1-holiday-calendar")

urlpatterns = [
    path("compliance", views.ComplianceView.as_view(), name="v1-compliance"),
    path("counters/readings", views.CounterReadingsView.as_view(), name="v1-counter-readings"),
    *router.urls,
]
