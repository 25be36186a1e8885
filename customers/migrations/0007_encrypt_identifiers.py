"""Resident ID numbers and phones encrypted at rest, with keyed hashes for look-ups and uniqueness.

The columns widen to hold the ciphertext and lose their unique indexes, which move to the
hash columns; the data step encrypts existing values in place, in chunks of 2,000 rows
(``loansite.field_keys.migration_rewrite``: each chunk committed on its own where schema
changes are not transactional, as on MySQL; values already encrypted are kept, so an
interrupted run can be repeated). Reversible: going back decrypts the values in place.
"""

from django.db import migrations

import customers.validators
import loansite.fields
from loansite.field_keys import migration_rewrite

FIELDS = ["phone", "id_number"]


def encrypt(apps, schema_editor):
    migration_rewrite(apps, schema_editor, model="customers.Customer", fields=FIELDS, forwards=True)


def decrypt(apps, schema_editor):
    migration_rewrite(apps, schema_editor, model="customers.Customer", fields=FIELDS, forwards=False)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_import_uploads"),
    ]

    operations = [
        migrations.AlterField(
            model_name="customer",
            name="id_number",
            field=loansite.fields.EncryptedCharField(
                blank=True,
                max_length=18,
                null=True,
                validators=[customers.validators.validate_resident_id],
                verbose_name="owner's resident ID number",
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="phone",
            field=loansite.fields.EncryptedCharField(
                max_length=20,
                validators=[customers.validators.validate_mobile_phone],
                verbose_name="mobile phone",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="id_number_hash",
            field=loansite.fields.KeyedHashField(
                normalizer="customers.validators.normalize_resident_id",
                source="id_number",
                unique=True,
                verbose_name="owner's resident ID number (keyed hash)",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="phone_hash",
            field=loansite.fields.KeyedHashField(
                normalizer="customers.validators.normalize_mobile_phone",
                source="phone",
                unique=True,
                verbose_name="mobile phone (keyed hash)",
            ),
        ),
        migrations.RunPython(encrypt, decrypt, atomic=False),
    ]
