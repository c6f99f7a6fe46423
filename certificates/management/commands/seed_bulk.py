"""``seed_bulk --certificates N``: synthetic certificates for benchmarks (a million in minutes).

Rows go in batches, one transaction each. Each batch reserves its serials from the real
counter (so issuance afterwards continues the numbering) and writes rows whose ID numbers are
encrypted and blind-indexed exactly as the model would: with the current PII keys, so the
portal finds and decrypts them. On PostgreSQL the rows are streamed with ``COPY`` (no model
instances, no SQL parameters: roughly ten times faster than ``bulk_create``), and the table is
analysed at the end so the planner knows its size before the first lookup; elsewhere
``bulk_create`` does the same work.
"""

import random
import secrets
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from applicants.idcard import compute_check_character
from certificates.models import Certificate, CertificateStatus, SerialCounter
from certificates.numbering import format_certificate_number
from certportal.pii import blind_index, encrypt
from exams.models import Authority, Trade

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许"
    "韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌海波辉鹏"
SEED_AUTHORITY_REGION = "350500"  # 泉州市住房和城乡建设局 (闽C)
MAX_SERIAL = 999_999


class Command(BaseCommand):
    help = "批量生成证书数据（用于基准测试）：PostgreSQL 上用 COPY，预先计算加密值与盲索引。"

    def add_arguments(self, parser):
        parser.add_argument("--certificates", type=int, required=True)
        parser.add_argument("--batch", type=int, default=10_000, help="每个事务的证书数")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, certificates: int, batch: int, seed: int, **options):
        if certificates < 1:
            raise CommandError("--certificates 须为正整数")
        if batch < 1:
            raise CommandError("--batch 须为正整数")
        authority = Authority.objects.filter(region_code=SEED_AUTHORITY_REGION).first()
        trades = list(Trade.objects.filter(authority__isnull=True).order_by("code"))
        if authority is None or not trades:
            raise CommandError(
                "缺少参考数据（泉州市住建局和全国工种）：请先运行 manage.py load_reference"
            )
        rng = random.Random(seed)  # noqa: S311 - synthetic benchmark data
        use_copy = connection.vendor == "postgresql"
        year = timezone.localdate().year
        started = time.monotonic()
        created = 0
        while created < certificates:
            size = min(batch, certificates - created)
            trade = trades[(created // batch) % len(trades)]
            with transaction.atomic():
                first = self._reserve_serials(authority, trade, year, size)
                rows = [
                    self._row(rng, authority, trade, year, serial)
                    for serial in range(first, first + size)
                ]
                if use_copy:
                    self._copy(rows, authority, trade)
                else:
                    self._bulk_create(rows, authority, trade)
            created += size
            if options["verbosity"] > 1 or created == certificates or created % 100_000 < batch:
                self.stdout.write(f"{created}/{certificates} ({time.monotonic() - started:.1f} s)")
        if use_copy:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(Certificate._meta.db_table)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"已生成 {created} 份证书，用时 {time.monotonic() - started:.1f} 秒。"
            )
        )

    @staticmethod
    def _reserve_serials(authority: Authority, trade: Trade, year: int, size: int) -> int:
        """Take ``size`` serials from the locked counter row; return the first."""
        counter, _ = SerialCounter.objects.select_for_update().get_or_create(
            prefix=authority.number_prefix, trade_code=trade.code, year=year
        )
        if counter.last + size > MAX_SERIAL:
            raise CommandError(
                f"{authority.number_prefix}{trade.code} 工种 {year} 年的流水号已用尽"
                f"（已用 {counter.last}，上限 {MAX_SERIAL}）"
            )
        first = counter.last + 1
        counter.last += size
        counter.save(update_fields=["last"])
        return first

    @staticmethod
    def _row(rng: random.Random, authority: Authority, trade: Trade, year: int, serial: int):
        """The varying columns of one certificate (the ID number still in clear)."""
        birth = date(1966, 1, 1) + timedelta(days=rng.randrange(0, 365 * 36))
        first17 = f"350503{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
        id_number = first17 + compute_check_character(first17)
        issued = date.today() - timedelta(days=rng.randrange(0, 700))
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        return {
            "number": format_certificate_number(
                prefix=authority.number_prefix, trade_code=trade.code, year=year, serial=serial
            ),
            "holder_name": name,
            "holder_sex": "M" if int(first17[16]) % 2 else "F",
            "holder_id_number": id_number,
            "holder_birth_date": birth,
            "first_issued_on": issued,
            "issued_on": issued,
            "valid_from": issued,
            "valid_until": issued + timedelta(days=729),
            "qr_token": secrets.token_urlsafe(18),
        }

    @staticmethod
    def _constants(authority: Authority, trade: Trade) -> dict:
        """Every other column, as the database stores it: each field's default, plus these."""
        now = timezone.now()
        values = {
            field.column: field.get_db_prep_save(field.get_default(), connection)
            for field in Certificate._meta.concrete_fields
            if not field.primary_key
        }
        values.update(
            trade_id=trade.pk,
            authority_id=authority.pk,
            status=CertificateStatus.VALID.value,
            content_version=1,
            pdf_version=1,  # no PDF: benchmarks look records up, they do not render
            created_at=now,
            updated_at=now,
        )
        return values

    def _copy(self, rows: list[dict], authority: Authority, trade: Trade) -> None:
        constants = self._constants(authority, trade)
        columns = list(constants)
        quote = connection.ops.quote_name
        statement = (
            f"COPY {quote(Certificate._meta.db_table)} "
            f"({', '.join(quote(column) for column in columns)}) FROM STDIN"
        )
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                # What EncryptedTextField and BlindIndexField would store on save.
                id_number = row["holder_id_number"]
                row["holder_id_number"] = encrypt(id_number)
                row["holder_id_index"] = blind_index(id_number)
                copy.write_row([row.get(column, constants[column]) for column in columns])

    @staticmethod
    def _bulk_create(rows: list[dict], authority: Authority, trade: Trade) -> None:
        # The model encrypts and indexes the ID number itself on save.
        Certificate.objects.bulk_create(
            [
                Certificate(
                    **row,
                    trade=trade,
                    authority=authority,
                    status=CertificateStatus.VALID,
                    content_version=1,
                    pdf_version=1,
                )
                for row in rows
            ],
            batch_size=1000,
        )
