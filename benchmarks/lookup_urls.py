"""Benchmark-only URLconf (benchmarks/lookup.py): the product's URLs plus the baseline.

The baseline is the least a Django lookup can do: the same indexed query the public lookup
runs (blind index + name, with the trade and the authority joined), answered as JSON, behind
the same middleware and served by the same gunicorn. No form, no rate limit, no lookup record,
no template, no decryption. It is reachable only through ``benchmarks.lookup_settings``.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from certificates.models import Certificate
from certportal.pii import blind_index
from certportal.urls import urlpatterns as product_urlpatterns

BASELINE_PATH = "bench/baseline"
EMPTY_PATH = "bench/empty"


@csrf_exempt
def baseline_lookup(request: HttpRequest) -> JsonResponse:
    rows = (
        Certificate.objects.select_related("trade", "authority")
        .filter(
            holder_id_index=blind_index(request.POST.get("id_number", "")),
            holder_name=request.POST.get("name", ""),
        )
        .order_by("-valid_until", "-pk")
    )
    return JsonResponse(
        {"certificates": [[c.number, c.status, c.trade.code, c.authority.name] for c in rows]}
    )


def empty(request: HttpRequest) -> JsonResponse:
    """The ceiling: the least any Django view answers (a constant, no query), behind the same
    middleware on the same gunicorn: what the machine allows before a lookup does anything."""
    return JsonResponse({})


urlpatterns = [
    path(BASELINE_PATH, baseline_lookup),
    path(EMPTY_PATH, empty),
    *product_urlpatterns,
]
