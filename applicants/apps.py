from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicantsConfig(AppConfig):
    name = "applicants"
    verbose_name = _("申报人")

    def ready(self):
        from django.contrib.auth.signals import user_login_failed

        from .throttle import record_failure

        user_login_failed.connect(record_failure, dispatch_uid="applicants.login_address_failure")
