from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = _("证书")

    def ready(self) -> None:
        from exams.selectors import (
            register_awaiting_certificate_check,
            register_certificate_holding_check,
        )

        from .selectors import awaits_same_trade_certificate, holds_same_trade_certificate

        # The eligibility rules "holds no valid or suspended certificate of the trade, from any
        # authority" and "no passed exam of the trade awaits its certificate" need this app's
        # data; exams asks through the registered checks.
        register_certificate_holding_check(holds_same_trade_certificate)
        register_awaiting_certificate_check(awaits_same_trade_certificate)

        from applicants.services import register_profile_saved_hook

        from .services.holders import link_imported_certificates

        # An imported certificate joins its holder's account when a profile with the same name
        # and ID number is saved (services/holders.py says why both).
        register_profile_saved_hook(link_imported_certificates)

        from django.db.models import Q

        from applicants.selectors import register_staff_scope_rule
        from exams.selectors import authorities_in_scope

        from .models import Certificate

        def issuers_see_their_holders(staff):
            # Authority staff see the profile of a person holding a certificate their scope
            # issued (an imported one's holder has no application anywhere): the people they
            # are asked to correct. Institution staff have no authority: none.
            return Q(
                pk__in=Certificate.objects.filter(
                    authority__in=authorities_in_scope(staff), holder__isnull=False
                ).values("holder_id")
            )

        register_staff_scope_rule(issuers_see_their_holders)

        from applicants.selectors import register_dashboard_provider

        from .dashboard import certificates_section

        # The applicant's dashboard lists their certificates and what they call for.
        register_dashboard_provider(certificates_section)
