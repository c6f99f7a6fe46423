from django.utils.translation import gettext_lazy as _

PORTAL_NAME = _("建筑施工特种作业人员证书服务平台")


def portal(request):
    return {"PORTAL_NAME": PORTAL_NAME}
