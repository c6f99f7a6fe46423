from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from applicants.forms import StaffLoginForm
from applicants.urls import account_patterns

from . import views

admin.site.site_header = _("建筑施工特种作业人员证书服务平台 · 管理后台")
admin.site.site_title = _("证书服务平台管理")
admin.site.index_title = _("业务管理")
admin.site.login_form = StaffLoginForm
# Django admin's own pages, under names of their own (templates/admin/): the portal's
# registration/ templates, for workers, share Django's names and shadowed them.
admin.site.password_change_template = "admin/password_change_form.html"  # noqa: S105
admin.site.password_change_done_template = "admin/password_change_done.html"  # noqa: S105

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # First of the apps: the public lookups are most of the traffic, and Django tries the
    # patterns in order (no other app's address begins with verify/, v/ or api/).
    path("", include("verification.urls")),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("accounts/", include(account_patterns)),
    path("", include("applicants.urls")),
    path("", include("exams.urls")),
    path("", include("certificates.urls")),
    path("", include("renewals.urls")),
]
