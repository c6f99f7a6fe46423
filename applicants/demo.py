"""Demo applicants: one complete (profile and the three materials), one with only a profile,
one with nothing yet. Images are generated here, not taken from anywhere."""

from __future__ import annotations

import io
import random

from django.contrib.auth.models import Group
from PIL import Image, ImageDraw

from certportal import roles
from certportal.demo import DemoContext

from .idcard import compute_check_character
from .models import EducationLevel, Material, Profile, User
from .services import material_upload, profile_save

DEMO_APPLICANT = "13800000001"


def demo_id_number(first17: str) -> str:
    return first17 + compute_check_character(first17)


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


def demo_photo(seed: int = 1) -> bytes:
    """A 1-inch-style portrait: white background, a grey head and shoulders, ~40-90 KB JPEG."""
    rng = random.Random(seed)  # noqa: S311 - image texture, not security
    width, height = 330, 462
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    tone = (90 + rng.randint(0, 40), 80 + rng.randint(0, 30), 70 + rng.randint(0, 30))
    draw.ellipse((105, 70, 225, 220), fill=tone)
    draw.rectangle((140, 210, 190, 260), fill=tone)
    draw.ellipse((45, 240, 285, 560), fill=(40, 60, 110))
    # Texture in the middle (never on the white border) so the file has a realistic size.
    pixels = image.load()
    for y in range(60, 440):
        for x in range(40, 290):
            r, g, b = pixels[x, y]
            if (r, g, b) != (255, 255, 255):
                n = rng.randint(-30, 30)
                pixels[x, y] = (
                    max(0, min(255, r + n)),
                    max(0, min(255, g + n)),
                    max(0, min(255, b + n)),
                )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def demo_id_scan(name: str) -> bytes:
    image = Image.new("RGB", (856, 540), (236, 240, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 836, 520), outline=(120, 140, 170), width=4)
    draw.rectangle((600, 90, 780, 320), fill=(200, 205, 212))
    for row in range(5):
        draw.rectangle(
            (60, 90 + row * 60, 60 + 300 + (row * 37) % 120, 110 + row * 60), fill=(90, 100, 120)
        )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def demo_education_proof() -> bytes:
    image = Image.new("RGB", (1000, 700), (250, 246, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 970, 670), outline=(150, 30, 30), width=8)
    for row in range(8):
        draw.rectangle(
            (120, 160 + row * 55, 880 - (row * 53) % 300, 180 + row * 55), fill=(60, 60, 60)
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


DEMO_APPLICANTS = [
    # login, name, first 17 characters of the ID number, education, materials?
    (DEMO_APPLICANT, "王小明", "35050319850612123", EducationLevel.SENIOR, True),
    ("13800000002", "李建国", "35058219790303201", EducationLevel.JUNIOR, False),
    ("13800000003", None, None, None, False),
]


def seed(ctx: DemoContext) -> None:
    for index, (login, name, id17, education, with_materials) in enumerate(DEMO_APPLICANTS):
        user = (
            demo_user(ctx, login, role=roles.APPLICANT) if index == 0 else _quiet_user(ctx, login)
        )
        if name:
            profile_save(
                user=user,
                name=name,
                id_number=demo_id_number(id17),
                mobile=login,
                education=education,
                employer_name="泉州示例建筑工程有限公司",
                employer_credit_code="91350100M000100Y43",
                address="福建省泉州市丰泽区示例路 1 号",
            )
        if with_materials:
            have = set(Material.objects.filter(owner=user).values_list("kind", flat=True))
            files = {
                "photo": lambda i=index: demo_photo(i + 1),
                "id_scan": lambda n=name: demo_id_scan(n),
                "education_proof": demo_education_proof,
            }
            for kind, make in files.items():
                if kind not in have:
                    material_upload(user=user, kind=kind, data=make())
        ctx.objects.setdefault("applicants", []).append(user)
    ctx.objects["applicant"] = User.objects.get(username=DEMO_APPLICANT)
    ctx.objects["applicant_profile"] = Profile.objects.get(user__username=DEMO_APPLICANT)


def _quiet_user(ctx: DemoContext, login: str) -> User:
    """Further demo applicants: same password, not listed as the role's demo login."""
    user, _ = User.objects.update_or_create(username=login)
    user.set_password(ctx.password)
    user.save()
    user.groups.set([Group.objects.get(name=roles.APPLICANT)])
    return user
