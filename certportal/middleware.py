"""Security headers Django 5.2 does not set itself, and the health check's own way in."""

from django.conf import settings
from django.middleware import locale as django_locale
from django.utils import translation
from django.utils.cache import patch_vary_headers

# No inline or external script: pages carry no JavaScript of their own, and the admin loads
# only its own static files. Inline style attributes are allowed (the admin uses them);
# they cannot run code.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_CSP)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


class HealthCheckMiddleware:
    """``/healthz`` answered ahead of every other middleware.

    Its callers are the container's health check and load balancers, which ask over plain
    HTTP at the container's own address: behind the host check (400, that address is not in
    ALLOWED_HOSTS) and the HTTPS redirect (301) the production shape's web container was never
    healthy. The answer says only whether the database answers, so it is no one's to guard.
    First in MIDDLEWARE.
    """

    PATH = "/healthz"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == self.PATH and request.method in ("GET", "HEAD"):
            from .views import healthz

            return healthz(request)
        return self.get_response(request)


def _holds_id_number(value: str) -> bool:
    """An ID number in a search, but not an 18-character credit code (an institution's or an
    employer's), which an all-digit one can resemble."""
    from django.core.exceptions import ValidationError

    from applicants.validators import validate_credit_code

    from .pii import contains_id_number

    if not contains_id_number(value):
        return False
    try:
        validate_credit_code(value.strip().upper())
    except ValidationError:
        return True
    return False


class AdminIdNumberInAddressMiddleware:
    """An ID number typed into an admin list's search box (a GET form) lands in the address:
    the browser's history, the proxy's log, a link pasted to a colleague. Such a request is
    sent back to the same page without it, with a message pointing to the exact lookup
    (posted, never in an address) that the lists with ID numbers have, so that the number
    does not stay in the address bar, nor in the links of the list's filters and pages. (The
    request that carried it is past helping.) After MessageMiddleware in MIDDLEWARE."""

    PREFIX = "/admin/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET" and request.path.startswith(self.PREFIX) and request.GET:
            from django.contrib import messages
            from django.http import HttpResponseRedirect
            from django.utils.translation import gettext as _

            if any(_holds_id_number(value) for value in request.GET.getlist("q")):
                kept = request.GET.copy()
                del kept["q"]
                messages.warning(
                    request,
                    _(
                        "为保护个人信息，请不要在搜索框中输入身份证号码（搜索内容会出现在网址"
                        "中）：请使用“证书”或“实名信息”列表上方的“按身份证号码精确查找”。"
                    ),
                )
                query = kept.urlencode()
                return HttpResponseRedirect(request.path + (f"?{query}" if query else ""))
        return self.get_response(request)


class LocaleMiddleware(django_locale.LocaleMiddleware):
    """Chinese unless the visitor chose English with the language switch (SPEC 6: "Chinese
    (zh-hans) by default, English available").

    Django's own middleware follows the browser's Accept-Language, so a site inspector whose
    phone is set to English, or a worker on a borrowed office computer, met an English portal
    on the first visit and an English QR page, though the certificate and every official
    wording are Chinese. Here the language is the switch's cookie, or LANGUAGE_CODE; the
    answer varies with the cookie, not with Accept-Language.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        try:
            language = translation.get_supported_language_variant(chosen or "")
        except LookupError:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
