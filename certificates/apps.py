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

        from applicants.services import register_profile_saved_hook

        from .services.holders import link_imported_certificates

        # An imported certificate joins its holder's account when a profile with the same name
        # and ID number is saved (services/holders.py says why both).
        register_profile_saved_hook(link_imported_certificates)
