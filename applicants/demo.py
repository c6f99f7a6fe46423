"""Demo accounts of applicants (profiles and materials join in the applicants issue)."""

from django.contrib.auth.models import Group

from certportal import roles
from certportal.demo import DemoContext

from .models import User

DEMO_APPLICANT = "13800000001"


def demo_user(ctx: DemoContext, username: str, *, role: str, **fields) -> User:
    """Create or reset one demo account with the demo password and its role's group."""
    user, _ = User.objects.update_or_create(username=username, defaults=fields)
    user.set_password(ctx.password)
    user.save()
    group = Group.objects.filter(name=role).first()
    if group is not None:
        user.groups.set([group])
    ctx.add_user(roles.SLUGS[role], username)
    return user


def seed(ctx: DemoContext) -> None:
    ctx.objects["applicant"] = demo_user(
        ctx, DEMO_APPLICANT, role=roles.APPLICANT, first_name="小明", last_name="王"
    )
