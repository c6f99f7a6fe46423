from django.core.management.base import BaseCommand

from certificates.services import render_pending_ids, stale_batch_ids
from certificates.tasks import enqueue_pending_renders, render_certificate, run_batch_issue


class Command(BaseCommand):
    help = "重新排队所有电子证照缺失或过期（内容已变更）的证书，以及消息丢失的批量签发。"

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="在本进程内立即生成，不经队列")

    def handle(self, *args, now: bool = False, **options):
        ids = render_pending_ids()
        if now:
            for batch_pk in stale_batch_ids():
                run_batch_issue.apply(args=[batch_pk], throw=True)
            ids = render_pending_ids()
            for pk in ids:
                render_certificate.apply(args=[pk], throw=True)
        else:
            enqueue_pending_renders.apply(throw=True)
        self.stdout.write(f"{len(ids)} 份证书{'已生成' if now else '已排队'}。")
