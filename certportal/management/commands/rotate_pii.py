from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from certportal.pii import BlindIndexField, EncryptedTextField


class Command(BaseCommand):
    help = (
        "重新加密所有敏感字段并重算盲索引：在 PII_ENCRYPTION_KEYS 最前面加入新密钥"
        "（或更换 PII_INDEX_KEY）后运行，完成后可移除旧密钥。"
    )

    def handle(self, *args, **options):
        for model in apps.get_models():
            fields = [
                f.name
                for f in model._meta.concrete_fields
                if isinstance(f, EncryptedTextField | BlindIndexField)
            ]
            if not fields:
                continue
            count = 0
            # Saving re-encrypts with the newest key and recomputes blind indexes (pre_save).
            for pk in model._default_manager.values_list("pk", flat=True).iterator():
                with transaction.atomic():
                    row = model._default_manager.select_for_update().get(pk=pk)
                    row.save(update_fields=fields)
                count += 1
            self.stdout.write(f"{model._meta.label}: {count}")
