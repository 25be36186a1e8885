"""Tasks never act for a person named in their arguments; beat runs only allow-listed tasks;
schedule changes are audited.

The exploit these guard against: model ops added a periodic task for
``loans.application_batch`` with ``{"actor_id": <approver>, "operation": "approve", ...}``
and the worker approved in the approver's name, with no trace of ops in the audit trail.
"""

import contextlib
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import signing
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from audit.models import AuditAction, AuditEntry
from loans.models import LoanApplication
from loansite.celery import app
from tests.loans.factories import ApplicationFactory, AuthorityFactory, ProductFactory

TARGET = "loansite.taskauthorisation"

app.loader.import_default_modules()


def _run_like_beat(periodic_task):
    """What beat publishes for this row, delivered to the task as the worker would."""
    entry = ModelEntry(periodic_task, app=app)
    headers = {**entry.options.get("headers", {}), "celery_beat_task": True}
    return app.tasks[entry.task].apply(entry.args, entry.kwargs, headers=headers, throw=True)


def _refusals(why=None):
    entries = AuditEntry.objects.filter(action=AuditAction.SYSTEM, changes__event="refused").order_by("seq")
    return [e for e in entries if why is None or e.changes.get("why") == why]


def _approvals_by(user):
    return AuditEntry.objects.filter(actor=user, target_type="loans.loanapplication")


@pytest.fixture
def officer(make_user):
    return make_user("officer", role="Loan officer")


@pytest.fixture
def approver(make_user):
    user = make_user("approver", role="Credit approver")
    AuthorityFactory(user=user, limit=Decimal("200000.00"))
    return user


@pytest.fixture
def pending(officer):
    """An application under review, entered and submitted by the officer."""
    return ApplicationFactory(
        product=ProductFactory(), status="under_review", created_by=officer, submitted_by=officer, review_round=1
    )


@pytest.fixture
def ops(make_user):
    return make_user("ops", role="Model ops")


@pytest.fixture
def every_minute(db):
    return IntervalSchedule.objects.get_or_create(every=1, period="minutes")[0]


def _periodic_task_post(every, **overrides):
    data = {
        "name": "nightly check",
        "task": "audit.verify_chain",
        "enabled": "on",
        "description": "",
        "interval": every.pk,
        "crontab": "",
        "solar": "",
        "clocked": "",
        "start_time_0": "",
        "start_time_1": "",
        "args": "[]",
        "kwargs": "{}",
        "expires_0": "",
        "expires_1": "",
        "expire_seconds": "",
        "queue": "",
        "priority": "",
    }
    data.update(overrides)
    return data


# --- the exploit ---------------------------------------------------------------------


def test_a_schedule_naming_an_approver_does_not_approve_in_their_name(approver, pending, every_minute):
    """The reported hole, end to end through beat's own publishing code: no approval, no
    entry in the approver's name, and a refusal in the audit trail."""
    schedule = PeriodicTask.objects.create(
        name="approve as someone else",
        task="loans.application_batch",
        interval=every_minute,
        kwargs=json.dumps(
            {"actor_id": approver.pk, "application_ids": [pending.pk], "operation": "approve", "reason": "ok"}
        ),
    )
    with contextlib.suppress(Exception):  # refused is the expected outcome; what matters is below
        _run_like_beat(schedule)
    pending.refresh_from_db()
    assert pending.status == LoanApplication.Status.UNDER_REVIEW
    assert not _approvals_by(approver).exists()
    refusal = _refusals()
    assert len(refusal) == 1 and refusal[0].actor_id is None
    assert refusal[0].changes["task"] == "loans.application_batch"


def test_a_direct_call_with_another_users_id_does_not_act_as_them(approver, pending):
    """Not via beat: any caller that publishes the task with an actor id."""
    with contextlib.suppress(Exception):
        app.tasks["loans.application_batch"].apply(
            kwargs={"actor_id": approver.pk, "application_ids": [pending.pk], "operation": "approve"}, throw=True
        )
    pending.refresh_from_db()
    assert pending.status == LoanApplication.Status.UNDER_REVIEW
    assert not _approvals_by(approver).exists()
    assert [e.changes["why"] for e in _refusals()] == ["arguments"]


def test_ops_cannot_schedule_the_batch_task_in_the_admin(client, ops, approver, pending, every_minute):
    """A crafted POST with a task off the allow-list is a form error; nothing is saved."""
    client.force_login(ops)
    kwargs = json.dumps({"actor_id": approver.pk, "application_ids": [pending.pk], "operation": "approve"})
    response = client.post(
        reverse("admin:django_celery_beat_periodictask_add"),
        _periodic_task_post(every_minute, name="x", task="loans.application_batch", kwargs=kwargs),
    )
    assert response.status_code == 200
    assert "task" in response.context["adminform"].form.errors
    assert not PeriodicTask.objects.filter(name="x").exists()


# --- the signed authorisation ---------------------------------------------------------


def _queue_batch(actor, apps, capture, **extra):
    from loans.services.batch import application_batch_queue

    with capture(execute=True):
        return application_batch_queue(
            actor=actor, application_ids=[a.pk for a in apps], operation="approve", reason="fine", **extra
        )


def test_queued_batch_acts_for_the_person_who_confirmed_it(approver, pending, django_capture_on_commit_callbacks):
    task_id = _queue_batch(approver, [pending], django_capture_on_commit_callbacks)
    pending.refresh_from_db()
    assert pending.status == LoanApplication.Status.APPROVED and pending.decided_by == approver
    decision = _approvals_by(approver).get(action=AuditAction.APPROVE)
    assert decision.request_id == task_id and "loans.application_batch" in decision.user_agent
    events = list(AuditEntry.objects.filter(target_type=TARGET).order_by("seq").values_list("changes", flat=True))
    assert [e["event"] for e in events] == ["used", "finished"]
    assert events[0]["task_id"] == task_id and events[0]["params"]["application_ids"] == 1
    assert events[1]["outcome"] == "succeeded"


def test_only_a_holder_of_the_permission_can_authorise_a_batch(ops, pending):
    from loans.services.batch import application_batch_queue
    from loansite.errors import NotAllowed

    with pytest.raises(NotAllowed):
        application_batch_queue(actor=ops, application_ids=[pending.pk], operation="approve")


def _authorisation(approver, pending, **params):
    from loansite.task_authorisation import task_authorisation_issue

    base = {"application_ids": [pending.pk], "operation": "approve", "reason": "", "reviewer_id": None}
    return task_authorisation_issue(
        actor=approver,
        task="loans.application_batch",
        params={**base, **params},
        permissions=("loans.approve_loanapplication",),
    )


def _run_batch(token, task_id):
    return app.tasks["loans.application_batch"].apply(kwargs={"authorisation": token}, task_id=task_id, throw=True)


def test_a_forged_authorisation_is_refused_and_audited(approver, pending, settings):
    from loansite.task_authorisation import SALT, TaskRefused

    payload = signing.loads(_authorisation(approver, pending).token, salt=SALT)
    forged = signing.dumps(payload, key="not-the-secret-key", salt=SALT, compress=True)
    with pytest.raises(TaskRefused):
        _run_batch(forged, payload["task_id"])
    pending.refresh_from_db()
    assert pending.status == LoanApplication.Status.UNDER_REVIEW
    (refusal,) = _refusals("bad_signature")
    assert refusal.actor_id is None and refusal.changes["task_id"] == payload["task_id"]


def test_an_altered_authorisation_is_refused(approver, pending, officer):
    from loansite.task_authorisation import SALT, TaskRefused

    issued = _authorisation(approver, pending)
    other = ApplicationFactory(status="under_review", created_by=officer, submitted_by=officer, review_round=1)
    payload = signing.loads(issued.token, salt=SALT)
    payload["params"]["application_ids"] = [other.pk]
    _body, stamp, signature = issued.token.rsplit(":", 2)
    altered_body = signing.b64_encode(signing.JSONSerializer().dumps(payload)).decode()
    with pytest.raises(TaskRefused):
        _run_batch(f"{altered_body}:{stamp}:{signature}", issued.task_id)
    assert len(_refusals("bad_signature")) == 1
    other.refresh_from_db()
    assert other.status == LoanApplication.Status.UNDER_REVIEW


def test_an_expired_authorisation_is_refused(approver, pending, settings):
    from loansite.task_authorisation import TaskRefused

    issued = _authorisation(approver, pending)
    settings.TASK_AUTHORISATION_MAX_AGE = -1
    with pytest.raises(TaskRefused):
        _run_batch(issued.token, issued.task_id)
    assert len(_refusals("expired")) == 1 and not _approvals_by(approver).exists()


def test_an_authorisation_is_good_once(approver, pending):
    from loansite.task_authorisation import TaskRefused

    issued = _authorisation(approver, pending)
    _run_batch(issued.token, issued.task_id)
    # The same message again after the work finished: a replay.
    with pytest.raises(TaskRefused):
        _run_batch(issued.token, issued.task_id)
    # The token in another message (a schedule, "run selected tasks", another caller).
    with pytest.raises(TaskRefused):
        _run_batch(issued.token, "another-message-id")
    assert [e.changes["why"] for e in _refusals()] == ["replayed", "other_message"]
    assert _approvals_by(approver).filter(action=AuditAction.APPROVE).count() == 1


def test_a_redelivered_message_resumes_until_its_work_finished(approver, pending):
    from loansite.task_authorisation import task_authorisation_redeem

    issued = _authorisation(approver, pending)
    first = task_authorisation_redeem(token=issued.token, task="loans.application_batch", task_id=issued.task_id)
    # The worker died before finishing: the broker delivers the same message again.
    again = task_authorisation_redeem(token=issued.token, task="loans.application_batch", task_id=issued.task_id)
    assert first.actor == again.actor == approver and first.nonce == again.nonce
    events = AuditEntry.objects.filter(target_type=TARGET).order_by("seq").values_list("changes__event", flat=True)
    assert list(events) == ["used", "resumed"]


def test_an_authorisation_for_another_task_is_refused(approver, pending):
    from loansite.task_authorisation import TaskRefused

    issued = _authorisation(approver, pending)
    with pytest.raises(TaskRefused):
        app.tasks["scoring.batch_score"].apply(
            kwargs={"authorisation": issued.token}, task_id=issued.task_id, throw=True
        )
    assert len(_refusals("other_task")) == 1


def test_a_revoked_permission_or_account_refuses_the_queued_work(approver, pending):
    from loansite.task_authorisation import TaskRefused

    issued = _authorisation(approver, pending)
    for group in approver.groups.all():
        approver.groups.remove(group)
    with pytest.raises(TaskRefused):
        _run_batch(issued.token, issued.task_id)
    assert len(_refusals("permission")) == 1
    pending.refresh_from_db()
    assert pending.status == LoanApplication.Status.UNDER_REVIEW


def test_a_deactivated_account_refuses_the_queued_work(approver, pending):
    from loansite.task_authorisation import TaskRefused

    issued = _authorisation(approver, pending)
    type(approver).objects.filter(pk=approver.pk).update(is_active=False)
    with pytest.raises(TaskRefused):
        _run_batch(issued.token, issued.task_id)
    assert len(_refusals("inactive")) == 1


def test_training_for_a_person_takes_only_their_authorisation(ops, approver):
    """A run id (someone else's run) from a caller is refused, not trained in their name."""
    from loansite.task_authorisation import TaskRefused
    from scoring.services import training_run_create

    run = training_run_create(kind="pd", actor=ops)
    with pytest.raises(TaskRefused):
        app.tasks["scoring.model_train"].apply(kwargs={"kind": "pd", "run_id": run.pk}, throw=True)
    run.refresh_from_db()
    assert run.status == "queued" and AuditEntry.objects.filter(action=AuditAction.TRAIN).count() == 1
    assert len(_refusals("arguments")) == 1


# --- beat: the allow-list in the worker ------------------------------------------------


def test_the_worker_refuses_a_beat_task_off_the_allow_list(every_minute, pending):
    from loansite.task_authorisation import TaskRefused

    schedule = PeriodicTask.objects.create(
        name="score one", task="scoring.score_application", interval=every_minute, args=json.dumps([pending.pk])
    )
    with pytest.raises(TaskRefused):
        _run_like_beat(schedule)
    (refusal,) = _refusals("not_schedulable")
    assert refusal.actor_id is None and refusal.changes["schedule"] == "score one"
    assert "schedule: score one" in refusal.user_agent
    assert not AuditEntry.objects.filter(action=AuditAction.SCORE).exists()


def test_the_worker_refuses_an_allowed_beat_task_with_other_arguments(every_minute, approver, pending):
    """E.g. a stolen authorisation put into a schedule's kwargs."""
    from loansite.task_authorisation import TaskRefused

    issued = _authorisation(approver, pending)
    schedule = PeriodicTask.objects.create(
        name="train",
        task="scoring.model_train",
        interval=every_minute,
        kwargs=json.dumps({"authorisation": issued.token}),
    )
    with pytest.raises(TaskRefused):
        _run_like_beat(schedule)
    assert (
        len(_refusals("not_schedulable")) == 1
        and not AuditEntry.objects.filter(target_type=TARGET).exclude(changes__event="refused").exists()
    )


def test_every_schedule_the_migrations_created_is_allowed_and_runs(db):
    from loansite.periodic_tasks import periodic_task_check

    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "audit.verify_chain",
        "scoring.batch_score",
        "scoring.model_train",
        "loans.refresh_query_statistics",
    } <= names
    for periodic_task in PeriodicTask.objects.all():
        periodic_task_check(periodic_task)
    # The ones that need no trained model run through the worker's check.
    for name in (
        "Verify the audit chain (nightly)",
        "loans: refresh query statistics",
        "scoring: score pending applications",
    ):
        _run_like_beat(PeriodicTask.objects.get(name=name))
    assert not _refusals()


def test_beat_training_is_the_systems_and_names_the_schedule(db):
    from scoring.models import TrainingRun
    from scoring.synthetic import world_build

    world_build(seed=11, customers=300, applications=1200)

    _run_like_beat(PeriodicTask.objects.get(name="scoring: weekly retrain (limit)"))
    run = TrainingRun.objects.get()
    assert run.requested_by is None and run.status == "succeeded"
    entries = AuditEntry.objects.filter(action=AuditAction.TRAIN)
    assert entries.count() == 2 and not entries.exclude(actor=None).exists()
    assert all("schedule: scoring: weekly retrain (limit)" in e.user_agent for e in entries)


# --- the schedule admin: allow-list and audit ------------------------------------------


def test_admin_offers_only_the_allow_listed_tasks(client, ops):
    from loansite.periodic_tasks import SCHEDULABLE_TASKS

    client.force_login(ops)
    response = client.get(reverse("admin:django_celery_beat_periodictask_add"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    offered = {value for value, _label in form.fields["task"].choices if value}
    assert offered == set(SCHEDULABLE_TASKS)
    assert not {"headers", "exchange", "routing_key", "regtask"} & set(form.fields)


@pytest.mark.parametrize(
    ("task", "args", "kwargs", "field"),
    [
        ("scoring.model_train", "[]", '{"kind": "pd", "run_id": 1}', "kwargs"),
        ("scoring.model_train", "[]", '{"kind": "everything"}', "kwargs"),
        ("scoring.model_train", "[]", "{}", "kwargs"),
        ("scoring.model_train", "[]", '["pd"]', "kwargs"),
        ("scoring.batch_score", '["portfolio"]', "{}", "args"),
        ("audit.verify_chain", "[]", '{"actor_id": 1}', "kwargs"),
        ("customers_match_managers", "[]", "{}", "task"),
    ],
)
def test_admin_refuses_arguments_a_task_does_not_take(client, ops, every_minute, task, args, kwargs, field):
    client.force_login(ops)
    response = client.post(
        reverse("admin:django_celery_beat_periodictask_add"),
        _periodic_task_post(every_minute, task=task, args=args, kwargs=kwargs),
    )
    assert response.status_code == 200 and field in response.context["adminform"].form.errors
    assert not PeriodicTask.objects.filter(name="nightly check").exists()


def test_admin_ignores_posted_message_headers(client, ops, every_minute):
    """Headers override the task name the worker sees: they cannot be set at all."""
    client.force_login(ops)
    data = _periodic_task_post(every_minute, headers=json.dumps({"task": "loans.application_batch"}))
    response = client.post(reverse("admin:django_celery_beat_periodictask_add"), data)
    assert response.status_code == 302
    assert json.loads(PeriodicTask.objects.get(name="nightly check").headers or "{}") == {}


def test_schedule_changes_are_audited_with_actor_and_before_after(client, ops, every_minute):
    client.force_login(ops)
    add = reverse("admin:django_celery_beat_periodictask_add")
    assert (
        client.post(
            add, _periodic_task_post(every_minute, task="scoring.model_train", kwargs='{"kind": "pd"}')
        ).status_code
        == 302
    )
    periodic_task = PeriodicTask.objects.get(name="nightly check")
    change = reverse("admin:django_celery_beat_periodictask_change", args=[periodic_task.pk])
    data = _periodic_task_post(every_minute, task="scoring.model_train", kwargs='{"kind": "limit"}', enabled="")
    assert client.post(change, data).status_code == 302
    delete = reverse("admin:django_celery_beat_periodictask_delete", args=[periodic_task.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302

    entries = list(
        AuditEntry.objects.filter(
            target_type="django_celery_beat.periodictask", target_id=str(periodic_task.pk)
        ).order_by("seq")
    )
    assert [e.action for e in entries] == [AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE]
    assert all(e.actor == ops for e in entries)
    created, changed, deleted = (e.changes for e in entries)
    assert created["before"] == {} and created["after"]["task"] == "scoring.model_train"
    assert created["after"]["interval"].endswith("every minute")
    assert changed["before"]["kwargs"] == '{"kind": "pd"}' and changed["after"]["kwargs"] == '{"kind": "limit"}'
    assert set(changed["changed"]) == {"kwargs", "enabled"}
    assert deleted["before"]["name"] == "nightly check" and deleted["after"] == {}


def test_enable_disable_and_toggle_actions_are_audited(client, ops):
    client.force_login(ops)
    periodic_task = PeriodicTask.objects.get(name="loans: refresh query statistics")
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    for action, enabled in (("disable_tasks", False), ("toggle_tasks", True), ("enable_tasks", True)):
        client.post(url, {"action": action, "_selected_action": [periodic_task.pk]})
        periodic_task.refresh_from_db()
        assert periodic_task.enabled is enabled
    entries = AuditEntry.objects.filter(target_type="django_celery_beat.periodictask", target_id=str(periodic_task.pk))
    assert [e.changes["after"]["enabled"] for e in entries.order_by("seq")] == [False, True]
    assert all(e.actor == ops and e.changes["changed"] == ["enabled"] for e in entries)


def test_a_legacy_schedule_off_the_list_can_be_disabled_but_not_enabled_or_run(client, ops, every_minute):
    legacy = PeriodicTask.objects.create(
        name="legacy", task="loans.application_batch", interval=every_minute, enabled=False
    )
    client.force_login(ops)
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    client.post(url, {"action": "enable_tasks", "_selected_action": [legacy.pk]})
    client.post(url, {"action": "run_tasks", "_selected_action": [legacy.pk]})
    legacy.refresh_from_db()
    assert legacy.enabled is False and not _refusals()
    assert not AuditEntry.objects.filter(target_type=TARGET).exists()
    assert not AuditEntry.objects.filter(target_type="django_celery_beat.periodictask").exists()


def test_run_selected_tasks_runs_allowed_ones_and_audits_who_pressed_it(client, ops, monkeypatch):
    from audit import tasks as audit_tasks

    calls = []
    monkeypatch.setattr(audit_tasks, "audit_chain_verify", lambda: calls.append(1) or _Report())
    client.force_login(ops)
    periodic_task = PeriodicTask.objects.get(name="Verify the audit chain (nightly)")
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    response = client.post(url, {"action": "run_tasks", "_selected_action": [periodic_task.pk]})
    assert response.status_code == 302 and calls == [1]
    (entry,) = AuditEntry.objects.filter(target_type="django_celery_beat.periodictask", changes__event="run_now")
    assert entry.actor == ops and entry.changes["task"] == "audit.verify_chain"


class _Report:
    ok, checked, head_seq, problems = True, 0, 0, []


def test_interval_and_crontab_changes_are_audited_with_the_tasks_on_them(client, ops):
    client.force_login(ops)
    interval = PeriodicTask.objects.get(name="scoring: score pending applications").interval
    url = reverse("admin:django_celery_beat_intervalschedule_change", args=[interval.pk])
    assert (
        client.post(
            url,
            {"every": 10, "period": "minutes", "periodictask_set-TOTAL_FORMS": 0, "periodictask_set-INITIAL_FORMS": 0},
        ).status_code
        == 302
    )
    (entry,) = AuditEntry.objects.filter(target_type="django_celery_beat.intervalschedule")
    assert entry.actor == ops and entry.action == AuditAction.UPDATE
    assert entry.changes["before"]["every"] == 5 and entry.changes["after"]["every"] == 10
    assert entry.changes["periodic_tasks"] == ["scoring: score pending applications"]

    cron = CrontabSchedule.objects.get(pk=PeriodicTask.objects.get(name="loans: refresh query statistics").crontab_id)
    delete = reverse("admin:django_celery_beat_crontabschedule_delete", args=[cron.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not PeriodicTask.objects.filter(name="loans: refresh query statistics").exists()
    deleted = AuditEntry.objects.filter(action=AuditAction.DELETE).order_by("seq")
    assert [e.target_type for e in deleted] == ["django_celery_beat.periodictask", "django_celery_beat.crontabschedule"]
    assert all(e.actor == ops for e in deleted)


def test_schedules_need_the_beat_permissions(client, make_user, every_minute):
    client.force_login(make_user("approver3", role="Credit approver"))
    response = client.post(reverse("admin:django_celery_beat_periodictask_add"), _periodic_task_post(every_minute))
    assert response.status_code == 403 and not PeriodicTask.objects.filter(name="nightly check").exists()
    assert Permission.objects.filter(codename="add_periodictask").exists()


def test_the_migrations_schedules_open_in_the_admin_with_their_task_offered(client, ops):
    client.force_login(ops)
    for periodic_task in PeriodicTask.objects.all():
        response = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[periodic_task.pk]))
        assert response.status_code == 200
        form = response.context["adminform"].form
        assert form["task"].value() == periodic_task.task
        assert periodic_task.task in dict(form.fields["task"].choices)


def test_a_viewer_of_schedules_cannot_run_or_switch_them(client, make_user, ops):
    """Auditors may read the schedules; the list's actions need the change permission."""
    client.force_login(make_user("auditor", role="Auditor"))
    periodic_task = PeriodicTask.objects.get(name="Verify the audit chain (nightly)")
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["action_form"]  # None when no action is offered at all
    offered = {name for name, _label in form.fields["action"].choices if name} if form is not None else set()
    assert not offered & {"run_tasks", "enable_tasks", "disable_tasks", "toggle_tasks"}
    for action in ("run_tasks", "disable_tasks", "toggle_tasks"):
        client.post(url, {"action": action, "_selected_action": [periodic_task.pk]})
    periodic_task.refresh_from_db()
    assert periodic_task.enabled is True
    assert not AuditEntry.objects.filter(target_type="django_celery_beat.periodictask").exists()
