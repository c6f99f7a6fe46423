from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RenewalsConfig(AppConfig):
    name = "renewals"
    verbose_name = _("延续与继续教育")

    def ready(self) -> None:
        from certificates.selectors import register_certificate_notes, register_renewal_bar
        from certificates.services.status import register_certificate_ended_hook

        from .rules import accident_bars_renewal
        from .selectors import returned_renewal_notes
        from .services import close_renewals_of_ended_certificate

        # A revoked, withdrawn or cancelled certificate cannot be renewed: its open renewal
        # application is closed with the certificate's reason.
        register_certificate_ended_hook(close_renewals_of_ended_certificate)
        # The holder's list of certificates says a renewal came back to them, and until when.
        register_certificate_notes(returned_renewal_notes)
        # An accident-responsibility record refuses any renewal of the period: the holder's
        # pages do not invite one (the renewal page says why).
        register_renewal_bar(accident_bars_renewal)

        from applicants.selectors import register_dashboard_provider

        from .selectors import returned_renewals_section

        register_dashboard_provider(returned_renewals_section)
