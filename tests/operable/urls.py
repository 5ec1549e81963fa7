"""The project's URLs plus one view that fails, to see what a 500 carries."""

from django.urls import path

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/v1/boom", boom, name="boom"), path("boom", boom), *project_urlpatterns]
