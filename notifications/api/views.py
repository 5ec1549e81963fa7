"""v1 channel endpoints: thin, they validate input, call a service and render the result."""

from dataclasses import asdict

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.pagination import SkipLimitPagination
from core.errors import NotFound
from notifications import services
from notifications.api import serializers as s
from notifications.api.filters import ChannelFilter
from notifications.models import Channel


class ChannelViewSet(viewsets.GenericViewSet):
    """Notification channels: email addresses, signed webhooks and Apprise URLs."""

    queryset = Channel.objects.all()
    serializer_class = s.ChannelOutput
    pagination_class = SkipLimitPagination
    filterset_class = ChannelFilter

    def get_object(self) -> Channel:
        pk = self.kwargs["pk"]
        channel = Channel.objects.filter(pk=pk).first()
        if channel is None:
            raise NotFound(f"Channel with id '{pk}' not found")
        return channel

    def list(self, request):
        channels = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(channels)
        return self.get_paginated_response(s.ChannelOutput(page, many=True).data)

    @extend_schema(request=s.ChannelInput, responses={201: s.ChannelCreated})
    def create(self, request):
        data = _valid(s.ChannelInput(data=request.data))
        channel = services.channel_create(**data)
        return Response(s.ChannelCreated(channel).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(s.ChannelOutput(self.get_object()).data)

    @extend_schema(request=s.ChannelInput, responses=s.ChannelOutput)
    def update(self, request, pk=None):
        channel = self.get_object()
        data = _valid(s.ChannelInput(data=request.data))
        return Response(s.ChannelOutput(services.channel_update(channel=channel, data=data)).data)

    @extend_schema(request=s.ChannelInput(partial=True), responses=s.ChannelOutput)
    def partial_update(self, request, pk=None):
        channel = self.get_object()
        data = _valid(s.ChannelInput(data=request.data, partial=True))
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


def _valid(serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
