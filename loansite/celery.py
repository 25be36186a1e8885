"""The Celery app, configured from Django settings with the ``CELERY_`` namespace.

Every task (the project's and Celery's own) runs through :class:`LoansiteTask`, which
before the body runs

- refuses a call whose arguments the task does not take, and a task that beat or the
  admin's "run selected tasks" published outside the schedule allow-list
  (``loansite.periodic_tasks``), each with an audit entry;
- gives the audit trail the task's own context: no user (a task that acts for a person
  names them from its signed authorisation, ``loansite.task_authorisation``), the task id
  as request id, and the task and schedule as the client, so entries written by scheduled
  work name the schedule, never a person.
"""

import inspect
import os

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loansite.settings")


class LoansiteTask(Task):
    def __call__(self, *args, **kwargs):
        from audit import context
        from loansite.periodic_tasks import periodic_task_call_check, periodic_task_name_of

        request = self.request
        task_id = request.id or ""
        schedule = periodic_task_name_of(request)
        origin = f"task {self.name}" if schedule is None else f"task {self.name}; schedule: {schedule or '-'}"
        token = context.activate(context.RequestContext(user_agent=origin, request_id=task_id[:64]))
        try:
            self._arguments_check(args, kwargs, task_id)
            if schedule is not None:
                periodic_task_call_check(task=self.name, schedule=schedule, args=args, kwargs=kwargs, task_id=task_id)
            return super().__call__(*args, **kwargs)
        finally:
            context.deactivate(token)

    def _arguments_check(self, args, kwargs, task_id: str) -> None:
        try:
            inspect.signature(self.run).bind(*args, **kwargs)
        except TypeError as exc:
            from loansite.task_authorisation import task_refuse

            task_refuse(task=self.name, task_id=task_id, why="arguments", detail=str(exc)[:500])


app = Celery("loansite", task_cls=LoansiteTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
