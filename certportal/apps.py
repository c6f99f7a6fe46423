import axes.apps
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertportalConfig(AppConfig):
    # The one Django takes for "certportal": the module holds django-axes's as well.
    default = True
    name = "certportal"
    verbose_name = _("平台")

    def ready(self) -> None:
        # Configuration read only when first used is checked here, as the process starts
        # (gunicorn, Celery and manage.py all set Django up first): a malformed key or a
        # missing font stops the start with its message, not every request or render after.
        from .pdf import check_cert_font_path
        from .pii import check_encryption_keys

        check_encryption_keys()
        check_cert_font_path()


class AxesConfig(axes.apps.AppConfig):
    """django-axes with a Chinese name: it sets none, so the admin's index, breadcrumbs and
    permission lists called its section "Axes" (its models' names come from locale/zh_Hans)."""

    default = False
    verbose_name = _("登录锁定")
