"""The orjson renderer writes the bytes DRF's JSONRenderer writes."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils.functional import lazy
from rest_framework.renderers import JSONRenderer

from core.api.renderers import OrjsonRenderer

SAMPLES = [
    {"events": [{"id": 1, "title": "é \u2028 \u2029 \U0001f527", "description": None}]},
    {"at": datetime.datetime(2026, 1, 1, 2, 3, 4, 567891, tzinfo=datetime.UTC)},
    {"naive": datetime.datetime(2026, 1, 1), "day": datetime.date(2026, 1, 1)},
    {"amount": Decimal("10.50"), "id": uuid.UUID(int=7), "lazy": lazy(str, str)("x")},
    {1: "int key", "big": 2**70, "nested": [[], {}, (1, 2)]},
    None,
]


@pytest.mark.parametrize("data", SAMPLES)
def test_it_renders_what_drf_renders(data):
    assert OrjsonRenderer().render(data) == JSONRenderer().render(data)


def test_a_pretty_printing_request_is_pretty_printed_like_drf():
    data = {"a": [1, 2]}
    media_type = "application/json; indent=4"

    assert OrjsonRenderer().render(data, media_type) == JSONRenderer().render(data, media_type)
