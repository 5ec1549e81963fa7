from rest_framework.routers import SimpleRouter

from notifications.api import views

router = SimpleRouter(trailing_slash=False)
router.register("channels", views.ChannelViewSet, basename="v1-channel")

urlpatterns = router.urls
