import random
import secrets
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from applicants.idcard import compute_check_character
from certificates.models import Certificate, CertificateStatus, SerialCounter
from certificates.numbering import format_certificate_number
from certportal.pii import blind_index
from exams.models import Authority, Trade

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许"
    "韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌海波辉鹏"


class Command(BaseCommand):
    help = "批量生成证书数据（用于基准测试）：bulk insert，预先计算加密值与盲索引。"

    def add_arguments(self, parser):
        parser.add_argument("--certificates", type=int, required=True)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, certificates: int, batch: int, seed: int, **options):
        if certificates < 1:
            raise CommandError("--certificates 须为正整数")
        rng = random.Random(seed)  # noqa: S311 - synthetic benchmark data
        authority = Authority.objects.get(region_code="350500")
        trades = list(Trade.objects.filter(authority__isnull=True).order_by("code"))
        year = date.today().year
        started = time.monotonic()
        created = 0
        while created < certificates:
            size = min(batch, certificates - created)
            trade = trades[(created // batch) % len(trades)]
            with transaction.atomic():
                counter, _ = SerialCounter.objects.select_for_update().get_or_create(
                    prefix=authority.number_prefix, trade_code=trade.code, year=year
                )
                first = counter.last + 1
                if counter.last + size > 999_999:
                    raise CommandError("该工种本年度流水号已用尽")
                counter.last += size
                counter.save(update_fields=["last"])
                rows = []
                for offset in range(size):
                    birth = date(1966, 1, 1) + timedelta(days=rng.randrange(0, 365 * 36))
                    first17 = f"350503{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
                    number = first17 + compute_check_character(first17)
                    issued = date.today() - timedelta(days=rng.randrange(0, 700))
                    name = rng.choice(SURNAMES) + "".join(
                        rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
                    )
                    certificate = Certificate(
                        number=format_certificate_number(
                            prefix=authority.number_prefix,
                            trade_code=trade.code,
                            year=year,
                            serial=first + offset,
                        ),
                        holder_name=name,
                        holder_sex="M" if int(first17[16]) % 2 else "F",
                        holder_birth_date=birth,
                        trade=trade,
                        authority=authority,
                        first_issued_on=issued,
                        issued_on=issued,
                        valid_from=issued,
                        valid_until=issued + timedelta(days=729),
                        status=CertificateStatus.VALID,
                        qr_token=secrets.token_urlsafe(18),
                        content_version=1,
                        pdf_version=1,  # no PDF: benchmarks look records up, they do not render
                    )
                    # Precomputed here so bulk_create does one round of crypto per row.
                    certificate.holder_id_number = number
                    certificate.holder_id_index = blind_index(number)
                    rows.append(certificate)
                Certificate.objects.bulk_create(rows, batch_size=batch)
            created += size
            self.stdout.write(f"{created}/{certificates} ({time.monotonic() - started:.1f} s)")
        self.stdout.write(
            self.style.SUCCESS(
                f"已生成 {created} 份证书，用时 {time.monotonic() - started:.1f} 秒。"
            )
        )
