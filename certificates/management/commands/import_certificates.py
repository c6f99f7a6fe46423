from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from certificates.services.legacy import import_certificates
from certportal.imports import ImportRefused


class Command(BaseCommand):
    help = (
        "导入平台上线前签发的证书（CSV 或 XLSX：证书编号、姓名、身份证号、工种代码（新旧均可）、"
        "初次领证日期、发证日期、有效期起、有效期至、发证机关、状态）。任何一行有错误则不导入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            count = import_certificates(data=file.read_bytes(), filename=file.name)
        except OSError as exc:
            raise CommandError(f"无法读取文件：{exc.strerror}") from exc
        except ImportRefused as exc:
            for error in exc.errors:
                self.stderr.write(f"第 {error.row} 行 {error.column}：{error.message}")
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"已导入 {count} 份证书。"))
