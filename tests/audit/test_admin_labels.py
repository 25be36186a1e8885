"""The audit trail in the reader's language: the kind of record by name (贷款申请, not
``loans.loanapplication``) in the list, its filter and the Chinese export, and an entry's page
says what changed with field names and choice labels (状态: 审查中 → 已批准)."""

import pytest
from django.urls import reverse

from audit.admin import AuditEntryChineseResource, AuditEntryResource
from audit.models import AuditAction, AuditEntry
from audit.services import audit_record
from loansite import roles
from tests.loans.factories import ApplicationFactory

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def entry(client, make_user):
    root = make_user("root", superuser=True, role=roles.ADMINISTRATOR)
    client.force_login(root)
    application = ApplicationFactory()
    return audit_record(
        action=AuditAction.TRANSITION,
        actor=root,
        target=application,
        changes={"status": ["under_review", "approved"]},
        reason="符合政策",
    )


def test_list_and_filter_name_the_kind_of_record(client, entry):
    html = client.get(reverse("admin:audit_auditentry_changelist"), **ZH).content.decode()
    assert '<td class="field-target_kind">贷款申请</td>' in html
    assert "?target_type=loans.loanapplication" in html and ">贷款申请</a>" in html
    page = client.get(reverse("admin:audit_auditentry_changelist"), {"target_type": "loans.loanapplication"}, **ZH)
    assert page.context["cl"].result_count == 1


def test_entry_page_shows_what_changed_as_labels(client, entry):
    html = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]), **ZH).content.decode()
    assert "状态: 审查中 → 已批准" in html
    english = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "tatus: Under review → Approved" in english.content.decode()


def test_chinese_export_names_the_kind_of_record_the_english_keeps_the_code(entry):
    queryset = AuditEntry.objects.filter(pk=entry.pk)
    chinese = AuditEntryChineseResource().export(queryset=queryset)
    english = AuditEntryResource().export(queryset=queryset)
    column = list(AuditEntryResource.Meta.fields).index("target_type")
    assert chinese[0][column] == "贷款申请"
    assert english[0][column] == "loans.loanapplication"
