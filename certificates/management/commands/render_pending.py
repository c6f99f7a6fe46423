from django.core.management.base import BaseCommand

from certificates.services import render_pending_ids
from certificates.tasks import render_certificate


class Command(BaseCommand):
    help = "重新排队所有电子证照缺失或过期（内容已变更）的证书。"

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="在本进程内立即生成，不经队列")

    def handle(self, *args, now: bool = False, **options):
        ids = render_pending_ids()
        for pk in ids:
            if now:
                render_certificate.apply(args=[pk], throw=True)
            else:
                render_certificate.delay(pk)
        self.stdout.write(f"{len(ids)} 份证书{'已生成' if now else '已排队'}。")
