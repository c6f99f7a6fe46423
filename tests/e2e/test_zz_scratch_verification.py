import pytest
from django.test import override_settings
from tests.verification.conftest import HOLDERS, import_holder
from certificates.models import Certificate, CertificateStatus
from django.utils import timezone
from datetime import timedelta
pytestmark = pytest.mark.e2e

def shot(browser, live_server, path, name, tmp="/tmp"):
    ctx = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width":360,"height":740}, device_scale_factor=2, is_mobile=True)
    page = ctx.new_page()
    page.goto(path)
    page.screenshot(path=f"/tmp/scr-{name}.png", full_page=False)
    ctx.close()

def test_scratch(browser, live_server, celery_eager, certificate, authority_staff, settings):
    name, id17, serial = HOLDERS[CertificateStatus.EXPIRED]
    c = import_holder(actor=authority_staff, name=name, id17=id17, serial=serial)
    today = timezone.localdate()
    Certificate.objects.filter(pk=c.pk).update(valid_from=today - timedelta(days=800), valid_until=today - timedelta(days=70))
    shot(browser, live_server, c.verify_path, "expired")
    shot(browser, live_server, "/v/nonexistent-token-123456/", "notfound")
    settings.VERIFY_RATE_LIMIT = "1/m"
    shot(browser, live_server, certificate.verify_path, "ok")
    shot(browser, live_server, certificate.verify_path, "ratelimited")
