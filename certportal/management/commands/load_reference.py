"""``manage.py load_reference``: see certportal.reference (why not ``loaddata``)."""

from django.core.management.base import BaseCommand

from certportal.reference import load_missing_reference


class Command(BaseCommand):
    help = (
        "载入参考数据（发证机关、工种、机构、政策）中数据库尚无的记录；已有记录保持工作人员"
        "修改后的样子。/ Adds the missing reference rows; existing rows stay as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("fixtures", nargs="*", help="fixture labels (default: the reference)")

    def handle(self, *args, **options):
        result = load_missing_reference(options["fixtures"] or None)
        self.stdout.write(f"参考数据：新增 {result.added} 条，保留已有 {result.kept} 条")
        for row in result.conflicts:
            self.stderr.write(f"未载入（与已有记录的名称或唯一项冲突，请在后台核对）：{row}")
