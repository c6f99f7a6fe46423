import json
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

from django.apps import apps
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from certportal.demo import DemoContext


class Command(BaseCommand):
    help = "演示数据：参考数据、每个角色一个用户、各生命周期各状态的记录（可重复执行）。"

    def add_arguments(self, parser):
        parser.add_argument("--password", required=True, help="所有演示用户的密码")
        parser.add_argument("--summary", type=Path, help="写出 JSON 摘要（用户与证书）的文件")

    def handle(self, *args, password: str, summary: Path | None, **options):
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError("演示密码不符合密码规则：" + " ".join(exc.messages)) from exc
        ctx = DemoContext(password=password)
        with transaction.atomic():
            for app_config in apps.get_app_configs():
                module_name = f"{app_config.name}.demo"
                if app_config.name == "certportal" or find_spec(module_name) is None:
                    continue
                import_module(module_name).seed(ctx)
        if summary:
            summary.write_text(json.dumps(ctx.summary(), ensure_ascii=False, indent=2), "utf-8")
        for user in ctx.users:
            self.stdout.write(f"  {user['role']:<24} {user['username']}")
        self.stdout.write(self.style.SUCCESS(f"演示数据已就绪（{len(ctx.users)} 个用户）。"))
