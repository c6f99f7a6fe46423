"""Reference data and the staff of the demo: one institution and one authority account."""

from django.conf import settings
from django.core.management import call_command

from applicants.demo import demo_user
from certportal import roles
from certportal.demo import DemoContext

from .models import Authority, Institution, StaffMembership

QUANZHOU_BUREAU = 350500
QUANZHOU_ASSESSMENT_CENTRE = "泉州市住建行业中介服务中心"


def seed(ctx: DemoContext) -> None:
    call_command("loaddata", *settings.REFERENCE_FIXTURES, verbosity=0)
    authority = Authority.objects.get(pk=QUANZHOU_BUREAU)
    institution = Institution.objects.get(name=QUANZHOU_ASSESSMENT_CENTRE)

    institution_user = demo_user(
        ctx, "institution", role=roles.INSTITUTION_STAFF, is_staff=True, first_name="机构审核员"
    )
    StaffMembership.objects.update_or_create(
        user=institution_user, defaults={"institution": institution, "authority": None}
    )
    authority_user = demo_user(
        ctx, "authority", role=roles.AUTHORITY_STAFF, is_staff=True, first_name="发证机关审核员"
    )
    StaffMembership.objects.update_or_create(
        user=authority_user, defaults={"authority": authority, "institution": None}
    )
    demo_user(ctx, "admin", role=roles.SUPERUSER, is_staff=True, is_superuser=True)
    ctx.objects.update(authority=authority, institution=institution)
