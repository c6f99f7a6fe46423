"""Security headers Django 5.2 does not set itself, and the health check's own way in."""

from django.conf import settings

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
