from urllib.parse import urlsplit

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import i18n
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_safe

from certportal.caching import never_cache


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent from a page that has gone stale (opened before logging in or out in
    another tab, left open for hours, a cookie cleared): the site's own page in Chinese,
    saying what happened and how to go on, instead of Django's technical one. Nothing was
    saved. The way back is the page the form came from (its Referer), if it was this
    site's; otherwise the home page. (Not the address posted to: some forms post to views
    that answer POST only.)"""
    back = "/"
    referer = urlsplit(request.META.get("HTTP_REFERER", ""))
    if referer.netloc == request.get_host() and referer.path.startswith("/"):
        back = referer.path + (f"?{referer.query}" if referer.query else "")
    response = render(request, "403_csrf.html", {"back": back}, status=403)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers a query, 503 otherwise (for load balancers; HEAD too,
    as many monitors ask). Reached through certportal.middleware.HealthCheckMiddleware."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


# The language switch in every page's header is Django's ``set_language``, posted without a
# CSRF token. With a token, every page drew one, and the public lookup pages, answering
# 1,200 lookups a second (SPEC 7), made a CSRF secret, its mask and a cookie for each first
# visit (a phone scanning a certificate's QR code) for a form few use. A forged post can do
# no more than switch a visitor's language, which the visitor can switch back; the view
# still refuses a ``next`` address on another host.
set_language = csrf_exempt(i18n.set_language)
