from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "verification"
    verbose_name = _("证书查验")

    def ready(self) -> None:
        # VERIFY_RATE_LIMIT is read per lookup: a malformed value stops the start instead of
        # failing every lookup (certportal.apps says why here).
        from django.conf import settings

        from .ratelimit import parse_rate

        parse_rate(settings.VERIFY_RATE_LIMIT)
