from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExamsConfig(AppConfig):
    name = "exams"
    verbose_name = _("考核与基础数据")

    def ready(self) -> None:
        from django.db.models import Q

        from applicants.selectors import register_staff_scope_rule

        from .selectors import applications_visible_to

        def reviewers_see_their_applicants(staff):
            # Staff see an applicant's profile and materials while they have an application
            # of that applicant in their scope (drafts excluded).
            return Q(pk__in=applications_visible_to(staff).values("applicant_id"))

        register_staff_scope_rule(reviewers_see_their_applicants)

        from applicants.selectors import register_full_id_number_rule

        from .models import ExamApplication
        from .selectors import membership_of

        def who_need_the_full_id_number(staff):
            # The authority's staff correct and verify identities (the whole scope); a
            # training institution's reviewers compare the number with the ID card scan while
            # an application waits for their review (services.reviews_now), and no longer
            # once they have decided it. An assessment centre reviews nothing.
            membership = membership_of(staff)
            if membership is None:
                return None
            if membership.institution_id is None:
                return Q()  # every applicant the authority's staff see
            reviewing = ExamApplication.objects.filter(
                training_institution_id=membership.institution_id,
                status=ExamApplication.Status.SUBMITTED,
            )
            return Q(pk__in=reviewing.values("applicant_id"))

        register_full_id_number_rule(who_need_the_full_id_number)

        from applicants.selectors import register_medical_scope_rule

        def reviewers_see_their_medical_certificates(staff):
            # Only the medical certificate an application in their scope carries.
            return Q(pk__in=applications_visible_to(staff).values("medical_certificate_id"))

        register_medical_scope_rule(reviewers_see_their_medical_certificates)

        from applicants.selectors import register_dashboard_provider

        from .dashboard import applications_section

        # The applicant's dashboard lists their applications and what they call for.
        register_dashboard_provider(applications_section)

        from applicants.selectors import register_material_rules_provider

        from .selectors import material_rules_of_latest_application

        # Uploads are judged by the rules of the authority the person applies to (Policy).
        register_material_rules_provider(material_rules_of_latest_application)
