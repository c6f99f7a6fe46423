from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertportalConfig(AppConfig):
    name = "certportal"
    verbose_name = _("平台")
