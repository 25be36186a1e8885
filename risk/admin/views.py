"""Views behind the risk admin: the event page's handling forms and the rule simulation.

Thin callers: read the form, call the service, report the result (a domain error is an
admin message, never a 500).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from loansite.errors import ApplicationError
from risk import forms
from risk.models import Device, RiskEvent, WatchListEntry
from risk.services import events as services


def _event_devices(event: RiskEvent):
    return Device.objects.filter(links__customer_id=event.customer_id).order_by("-last_seen_at")


def risk_event_page_context(request, object_id) -> dict:
    """What the event page shows below the record: timeline, handling forms, analysis."""
    from risk.analysis import risk_event_analysis

    try:
        event = RiskEvent.objects.select_related("customer", "assignee").get(pk=object_id)
    except (RiskEvent.DoesNotExist, ValueError):
        return {}
    can_handle = request.user.has_perm("risk.handle_riskevent")
    context = {
        "risk_event": event,
        "timeline": event.entries.select_related("actor").order_by("created_at", "id"),
        "alerts": event.alerts.order_by("created_at", "id"),
        "can_handle": can_handle and event.is_active,
        "analysis": risk_event_analysis(event),
    }
    if can_handle and event.is_active:
        context.update(
            assign_form=forms.AssignForm(initial={"assignee": request.user.pk}, prefix="assign"),
            note_form=forms.NoteForm(prefix="note"),
            escalate_form=forms.EscalateForm(prefix="escalate"),
            resolve_form=forms.ResolveForm(prefix="resolve"),
            restrict_form=forms.RestrictForm(prefix="restrict"),
            watch_form=forms.WatchCustomerForm(prefix="watch"),
            flag_form=forms.FlagDeviceForm(devices=_event_devices(event).filter(flagged=False), prefix="flag"),
        )
    return context


def _handle(request, event: RiskEvent, action: str):
    actor = request.user
    if action == "assign":
        form = forms.AssignForm(request.POST, prefix="assign")
        if form.is_valid():
            services.risk_event_assign(actor=actor, event=event, assignee=form.cleaned_data["assignee"])
            return form, _("Assigned to %(user)s.") % {"user": form.cleaned_data["assignee"].get_username()}
    elif action == "note":
        form = forms.NoteForm(request.POST, prefix="note")
        if form.is_valid():
            services.risk_event_note(actor=actor, event=event, text=form.cleaned_data["text"])
            return form, _("Note added.")
    elif action == "escalate":
        form = forms.EscalateForm(request.POST, prefix="escalate")
        if form.is_valid():
            services.risk_event_escalate(actor=actor, event=event, reason=form.cleaned_data["reason"])
            return form, _("Escalated.")
    elif action == "resolve":
        form = forms.ResolveForm(request.POST, prefix="resolve")
        if form.is_valid():
            services.risk_event_resolve(actor=actor, event=event, **form.cleaned_data)
            return form, _("Resolved.")
    elif action == "restrict":
        form = forms.RestrictForm(request.POST, prefix="restrict")
        if form.is_valid():
            services.customer_restrict(actor=actor, customer=event.customer, event=event, **form.cleaned_data)
            return form, _("Restriction in place.")
    elif action == "watch":
        form = forms.WatchCustomerForm(request.POST, prefix="watch")
        if form.is_valid():
            services.watch_list_add(
                actor=actor,
                kind=WatchListEntry.Kind.CUSTOMER,
                value="",
                customer=event.customer,
                reason=form.cleaned_data["reason"],
                event=event,
            )
            return form, _("Customer added to the watch list.")
    elif action == "flag_device":
        form = forms.FlagDeviceForm(request.POST, devices=_event_devices(event), prefix="flag")
        if form.is_valid():
            services.device_flag(
                actor=actor, device=form.cleaned_data["device"], reason=form.cleaned_data["reason"], event=event
            )
            return form, _("Device flagged.")
    else:
        raise Http404
    return form, None


def risk_event_handle_view(request, pk: int, action: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("risk.handle_riskevent"):
        raise PermissionDenied
    event = get_object_or_404(RiskEvent.objects.select_related("customer"), pk=pk)
    back = reverse("admin:risk_riskevent_change", args=[event.pk])
    try:
        form, done = _handle(request, event, action)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return HttpResponseRedirect(back)
    if done:
        messages.success(request, done)
    else:
        problems = "; ".join(
            f"{form.fields[name].label if name in form.fields else name}: {' '.join(errs)}"
            for name, errs in form.errors.items()
        )
        messages.error(request, _("Nothing was changed: %(problems)s") % {"problems": problems})
    return HttpResponseRedirect(back)


def rule_simulate_view(request, pk: int):
    from django.contrib import admin
    from django.template.response import TemplateResponse

    from risk.models import RiskRule
    from risk.services.simulation import rule_simulate

    if not request.user.has_perm("risk.change_riskrule"):
        raise PermissionDenied
    rule = get_object_or_404(RiskRule, pk=pk)
    result = None
    if request.method == "POST":
        form = forms.SimulationForm(request.POST)
        if form.is_valid():
            try:
                result = rule_simulate(
                    rule=rule,
                    params=form.cleaned_data["params"],
                    points=form.cleaned_data["points"],
                    enabled=form.cleaned_data["enabled"],
                    days=form.cleaned_data["days"],
                )
            except ApplicationError as exc:
                form.add_error(None, str(exc.message))
    else:
        form = forms.SimulationForm(initial=forms.SimulationForm.initial_for(rule))
    context = {
        **admin.site.each_context(request),
        "title": _("Simulate a change of %(rule)s") % {"rule": rule.code},
        "rule": rule,
        "form": form,
        "result": result,
        "opts": RiskRule._meta,
    }
    return TemplateResponse(request, "admin/risk/riskrule/simulate.html", context)


def risk_monitor_view(request):
    """The monitoring board: events by level and status, trend, rule hit rates, time to
    resolve, data sources, quality checks and the system's status."""
    from django.contrib import admin
    from django.template.response import TemplateResponse

    from risk import monitoring

    if not request.user.has_perm("risk.view_riskevent"):
        raise PermissionDenied
    days = 30
    trend = monitoring.risk_trend(days=days)
    peak = max((row["medium"] + row["high"] for row in trend), default=0) or 1
    bar_width = max(4, min(24, 600 // max(1, len(trend))))
    bars = []
    for index, row in enumerate(trend):
        high_h = round(row["high"] / peak * 120)
        medium_h = round(row["medium"] / peak * 120)
        bars.append(
            {
                "x": 30 + index * (bar_width + 2),
                "high_y": 140 - high_h,
                "high_h": high_h,
                "medium_y": 140 - high_h - medium_h,
                "medium_h": medium_h,
                "day": row["day"],
                "label": f"{row['day']}: {row['high']} high, {row['medium']} medium",
            }
        )
    summary = monitoring.risk_events_summary(days=days)
    labels = dict(RiskEvent.Status.choices)
    level_labels = dict(RiskEvent._meta.get_field("level").choices)
    status_rows = [
        (row["level"], level_labels.get(row["level"], row["level"]), [row[s] for s in summary["statuses"]])
        for row in summary["by_level_status"]
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("Risk monitoring"),
        "status_labels": [labels[s] for s in summary["statuses"]],
        "status_rows": status_rows,
        "opts": RiskEvent._meta,
        "summary": summary,
        "trend": trend,
        "bars": bars,
        "bar_width": bar_width,
        "chart_width": 40 + len(trend) * (bar_width + 2),
        "peak": peak,
        "sources": monitoring.data_sources_overview(),
        "quality": monitoring.quality_latest(),
        "status": monitoring.system_status(),
    }
    return TemplateResponse(request, "admin/risk/monitor.html", context)
