"""CPU time per request of the two Kener workloads, in process: the figure that survives a
shared, busy machine (wall time there measures the other tenants).

`python -m benchmarks cpu` (on request, like `profile`): 200 creates of the Kener body, then
200 `GET /api/v4/maintenances/events?limit=100` over their 18,200 events, through Django's
full request stack (middleware, DRF, orjson; no socket), each timed with
`time.process_time()`. Compare two versions by running it on both in the same minutes.
"""

import statistics
import time

from django.test import Client
from django.utils import timezone

from benchmarks.kener import LIST_PATH, _create_body
from benchmarks.report import Figure
from core.models import ApiKey

REQUESTS = 200


def _cpu_ms(request) -> list[float]:
    samples = []
    for n in range(REQUESTS):
        clock = time.process_time()
        request(n)
        samples.append((time.process_time() - clock) * 1000)
    return samples


def run():
    _, raw_key = ApiKey.objects.create_key(name="bench-cpu")
    client = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": f"Bearer {raw_key}"})
    start = int(timezone.now().timestamp())
    for _ in range(10):  # imports, first connection
        client.get(LIST_PATH)

    def create(n):
        response = client.post(
            "/api/v4/maintenances", _create_body(n, start), content_type="application/json"
        )
        assert response.status_code == 201, response.content

    def list_(n):
        response = client.get(LIST_PATH)
        assert response.status_code == 200, response.content

    creates = _cpu_ms(create)
    lists = _cpu_ms(list_)
    yield Figure("create, CPU per request, median", statistics.median(creates), "ms", digits=2)
    yield Figure("  mean", statistics.mean(creates), "ms", digits=2)
    yield Figure(
        f"GET {LIST_PATH}, CPU per request, median", statistics.median(lists), "ms", digits=2
    )
    yield Figure("  mean", statistics.mean(lists), "ms", digits=2)
