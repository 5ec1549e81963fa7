"""v1 channel endpoints: thin, they validate input, call a service and render the result."""

from dataclasses import asdict

from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.pagination import SkipLimitPagination
from core.api.views import ServiceViewSet
from notifications import services
from notifications.api import serializers as s
from notifications.api.filters import ChannelFilter
from notifications.models import Channel


class ChannelViewSet(ServiceViewSet):
    """Notification channels: email addresses, signed webhooks and Apprise URLs."""

    queryset = Channel.objects.all()
    serializer_class = s.ChannelOutput
    pagination_class = SkipLimitPagination
    filterset_class = ChannelFilter
    object_label = gettext_lazy("Channel")

    def list(self, request):
        return self.page_of(self.filter_queryset(self.get_queryset()), s.ChannelOutput)

    @extend_schema(request=s.ChannelInput, responses={201: s.ChannelCreated})
    def create(self, request):
        channel = services.channel_create(**self.validated(s.ChannelInput))
        return Response(s.ChannelCreated(channel).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(s.ChannelOutput(self.get_object()).data)

    @extend_schema(request=s.ChannelInput, responses=s.ChannelOutput)
    def update(self, request, pk=None):
        return self._update(partial=False)

    @extend_schema(request=s.ChannelInput(partial=True), responses=s.ChannelOutput)
    def partial_update(self, request, pk=None):
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        channel = self.get_object()
        data = self.validated(s.ChannelInput, partial=partial)
        return Response(s.ChannelOutput(services.channel_update(channel=channel, data=data)).data)

    def destroy(self, request, pk=None):
        services.channel_delete(channel=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=s.TestResultOutput)
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a `test` notification through this channel now; answers what happened."""
        channel = self.get_object()
        results = services.send_test(channel_ids=[channel.pk], now=timezone.now())
        return Response({"deliveries": [asdict(result) for result in results]})
