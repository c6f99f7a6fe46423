from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = _("证书")

    def ready(self) -> None:
        from exams.selectors import register_certificate_holding_check

        from .selectors import holds_same_trade_certificate

        # The eligibility rule "holds no valid or suspended certificate of the trade, from any
        # authority" needs this app's data; exams asks through the registered check.
        register_certificate_holding_check(holds_same_trade_certificate)
