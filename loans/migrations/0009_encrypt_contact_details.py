"""The contact phone and the public applicant's claimed details encrypted at rest; the
contact phone's keyed hash answers the status page.

The data step encrypts existing values in place, in chunks (``loansite.field_keys``);
reversible. On SQLite the column changes rebuild the table, which drops the queue's
partial index (0002): it is created again at the end (and at the start when going back).
"""

from importlib import import_module

from django.db import migrations

import loansite.fields
from loansite.field_keys import migration_rewrite

_queue_index = import_module("loans.migrations.0002_queue_partial_index")
FIELDS = ["contact_phone", "claimed_identity"]


def encrypt(apps, schema_editor):
    migration_rewrite(apps, schema_editor, model="loans.LoanApplication", fields=FIELDS, forwards=True)


def decrypt(apps, schema_editor):
    migration_rewrite(apps, schema_editor, model="loans.LoanApplication", fields=FIELDS, forwards=False)


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0007_identity_verification"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, _queue_index.create),
        migrations.AlterField(
            model_name="loanapplication",
            name="contact_phone",
            field=loansite.fields.EncryptedCharField(blank=True, max_length=20, verbose_name="contact phone"),
        ),
        migrations.AddField(
            model_name="loanapplication",
            name="contact_phone_hash",
            field=loansite.fields.KeyedHashField(
                normalizer="customers.validators.normalize_mobile_phone",
                source="contact_phone",
                verbose_name="contact phone (keyed hash)",
            ),
        ),
        migrations.AlterField(
            model_name="loanapplication",
            name="claimed_identity",
            field=loansite.fields.EncryptedJSONField(
                blank=True, default=dict, verbose_name="details given by the applicant"
            ),
        ),
        migrations.RunPython(encrypt, decrypt, atomic=False),
        migrations.RunPython(_queue_index.create, migrations.RunPython.noop),
    ]
