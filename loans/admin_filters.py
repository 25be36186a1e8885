"""List filters of the approval workbench."""

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from loans.models import LoanApplication
from loans.selectors import application_awaiting_second_approval, application_workbench_queue


def customer_matches(**lookups) -> Exists:
    """A correlated EXISTS on the customer instead of a join: the database keeps walking the
    applications in queue order and stops after one page, rather than sorting every match."""
    from customers.models import Customer

    return Exists(Customer.objects.filter(pk=OuterRef("customer_id"), **lookups))


class CappedCountPaginator(Paginator):
    """Counts at most ``CAP`` rows: a filtered count over millions of applications is the
    slowest part of a changelist page, and nobody pages beyond the first thousands."""

    CAP = 5_000

    @cached_property
    def count(self):
        return self.object_list.order_by()[: self.CAP].count()


class QueueStatusFilter(admin.SimpleListFilter):
    """Status, defaulting to the work queue (submitted, under review, returned for information);
    "awaiting second approval" picks the approvals above one approver's authority."""

    title = _("status")
    parameter_name = "status"
    ALL = "all"
    AWAITING_SECOND = "awaiting_second"

    def lookups(self, request, model_admin):
        # Applications waiting for an identity check come right after the queue.
        verify = LoanApplication.Status.PENDING_VERIFICATION
        others = [choice for choice in LoanApplication.Status.choices if choice[0] != verify]
        return [
            (self.ALL, _("All")),
            (self.AWAITING_SECOND, _("Awaiting second approval")),
            (verify, verify.label),
            *others,
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            # "My drafts" and "returned to me" choose their own statuses.
            if request.GET.get(MyWorkFilter.parameter_name):
                return queryset
            return application_workbench_queue(queryset)
        if value == self.ALL:
            return queryset
        if value == self.AWAITING_SECOND:
            return application_awaiting_second_approval(queryset)
        return queryset.filter(status=value)

    def choices(self, changelist):
        value = self.value()
        yield {
            "selected": value is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Queue: submitted, under review and returned"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class _RangeFilter(admin.SimpleListFilter):
    field = ""
    RANGES: list[tuple[str, str, object, object]] = []

    def lookups(self, request, model_admin):
        return [(key, label) for key, label, _low, _high in self.RANGES]

    def queryset(self, request, queryset):
        for key, _label, low, high in self.RANGES:
            if self.value() == key:
                if low is not None:
                    queryset = queryset.filter(**{f"{self.field}__gte": low})
                if high is not None:
                    queryset = queryset.filter(**{f"{self.field}__lt": high})
                return queryset
        return queryset


class AmountRangeFilter(_RangeFilter):
    title = _("amount")
    parameter_name = "amount_range"
    field = "amount"
    RANGES = [
        ("lt100k", _("below 100,000"), None, Decimal("100000")),
        ("100k-500k", _("100,000 to 500,000"), Decimal("100000"), Decimal("500000")),
        ("500k-1m", _("500,000 to 1,000,000"), Decimal("500000"), Decimal("1000000")),
        ("ge1m", _("1,000,000 and above"), Decimal("1000000"), None),
    ]


class ScoreRangeFilter(_RangeFilter):
    title = _("score points")
    parameter_name = "score_range"
    field = "score_points"
    RANGES = [
        ("lt550", _("below 550"), None, 550),
        ("550-650", _("550 to 649"), 550, 650),
        ("650-750", _("650 to 749"), 650, 750),
        ("ge750", _("750 and above"), 750, None),
    ]

    def lookups(self, request, model_admin):
        return [*super().lookups(request, model_admin), ("none", _("not scored"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(score_points__isnull=True)
        return super().queryset(request, queryset)


class SelectListFilter(admin.SimpleListFilter):
    """A long list of choices (hundreds of cities) as one drop-down with an Apply button,
    instead of a column of links longer than the screen; no script needed."""

    template = "admin/loans/select_filter.html"

    def choices(self, changelist):
        keep = [(key, value) for key, value in changelist.params.items() if key != self.parameter_name]
        value = self.value()
        yield {
            "parameter_name": self.parameter_name,
            "keep": keep,
            "options": [(str(lookup), title, str(lookup) == value) for lookup, title in self.lookup_choices],
            "selected": value is not None,
            "clear_query_string": changelist.get_query_string(remove=[self.parameter_name]),
        }


class IndustryFilter(SelectListFilter):
    title = _("industry")
    parameter_name = "industry"

    def lookups(self, request, model_admin):
        from customers.reference import industry_choices

        return industry_choices()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(customer_matches(industry=self.value()))
        return queryset


class CityFilter(SelectListFilter):
    title = _("city")
    parameter_name = "city"

    def lookups(self, request, model_admin):
        from customers.reference import city_choices

        return city_choices()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(customer_matches(city=self.value()))
        return queryset


class MyWorkFilter(admin.SimpleListFilter):
    """The signed-in person's own work: drafts they started, applications returned to them
    (they created or submitted it), and those they review."""

    title = _("my work")
    parameter_name = "mine"
    DRAFTS, RETURNED, REVIEWING = "drafts", "returned", "reviewing"

    def lookups(self, request, model_admin):
        return [
            (self.RETURNED, _("Returned to me")),
            (self.DRAFTS, _("My drafts")),
            (self.REVIEWING, _("I review")),
        ]

    def queryset(self, request, queryset):
        user = request.user
        value = self.value()
        if value == self.DRAFTS:
            return queryset.filter(status=LoanApplication.Status.DRAFT, created_by=user)
        if value == self.RETURNED:
            return queryset.filter(Q(created_by=user) | Q(submitted_by=user), status=LoanApplication.Status.RETURNED)
        if value == self.REVIEWING:
            return queryset.filter(reviewer=user)
        return queryset


class FreeRangeFilter(admin.ListFilter):
    """From / to boxes (numbers or dates) in the filter panel, with the API's parameter names;
    an unreadable value is shown as an error in the panel and not applied."""

    template = "admin/loans/free_range_filter.html"
    parameter_name = ""
    field = ""
    input_type = "number"
    # Their own context: "from" / "to" of a status change read 原状态 / 新状态.
    low_label = pgettext_lazy("range filter", "from")
    high_label = pgettext_lazy("range filter", "to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.low_name, self.high_name = self.expected_parameters()
        self.raw = {}
        for name in (self.low_name, self.high_name):
            if name in params:
                value = params.pop(name)
                value = value[-1] if isinstance(value, list) else value
                self.raw[name] = (value or "").strip()
        self.errors = []
        self.bounds = {name: self._parse(name) for name in (self.low_name, self.high_name)}
        self.used_parameters = {name: value for name, value in self.raw.items() if value}

    def expected_parameters(self):
        return [f"{self.parameter_name}_min", f"{self.parameter_name}_max"]

    def has_output(self):
        return True

    def convert(self, text):
        return Decimal(text.replace(",", ""))

    def _parse(self, name):
        text = self.raw.get(name, "")
        if not text:
            return None
        try:
            value = self.convert(text)
        except (InvalidOperation, ValueError):
            self.errors.append(_("Not a valid value: %(value)s") % {"value": text})
            return None
        if isinstance(value, Decimal) and not value.is_finite():
            self.errors.append(_("Not a valid value: %(value)s") % {"value": text})
            return None
        return value

    def filter_bounds(self, queryset, low, high):
        if low is not None:
            queryset = queryset.filter(**{f"{self.field}__gte": low})
        if high is not None:
            queryset = queryset.filter(**{f"{self.field}__lte": high})
        return queryset

    def queryset(self, request, queryset):
        return self.filter_bounds(queryset, self.bounds[self.low_name], self.bounds[self.high_name])

    def choices(self, changelist):
        keep = [
            (key, value)
            for key, values in changelist.params.items()
            if key not in (self.low_name, self.high_name)
            for value in (values if isinstance(values, list) else [values])
        ]
        yield {
            "low_name": self.low_name,
            "high_name": self.high_name,
            "low": self.raw.get(self.low_name, ""),
            "high": self.raw.get(self.high_name, ""),
            "low_label": self.low_label,
            "high_label": self.high_label,
            "input_type": self.input_type,
            "keep": keep,
            "errors": self.errors,
            "selected": bool(self.used_parameters),
            "clear_query_string": changelist.get_query_string(remove=[self.low_name, self.high_name]),
        }


class AmountFreeRangeFilter(FreeRangeFilter):
    title = _("amount (from / to)")
    parameter_name = "amount"
    field = "amount"


class CreditScoreFreeRangeFilter(FreeRangeFilter):
    """The customer's enterprise credit (bureau) score, 信用分."""

    title = _("credit score (from / to)")
    parameter_name = "credit_score"

    def filter_bounds(self, queryset, low, high):
        lookups = {}
        if low is not None:
            lookups["credit_score__gte"] = low
        if high is not None:
            lookups["credit_score__lte"] = high
        return queryset.filter(customer_matches(**lookups)) if lookups else queryset


class SubmittedFreeRangeFilter(FreeRangeFilter):
    """Submission dates, both ends included, as the API's submitted_from / submitted_to."""

    title = _("submitted (from / to)")
    parameter_name = "submitted"
    field = "submitted_at"
    input_type = "date"

    def expected_parameters(self):
        return ["submitted_from", "submitted_to"]

    def convert(self, text):
        return datetime.date.fromisoformat(text)

    def filter_bounds(self, queryset, low, high):
        # Local days as datetime bounds: the index on submitted_at stays usable.
        zone = timezone.get_current_timezone()
        if low is not None:
            start = datetime.datetime.combine(low, datetime.time.min, tzinfo=zone)
            queryset = queryset.filter(submitted_at__gte=start)
        if high is not None:
            end = datetime.datetime.combine(high + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
            queryset = queryset.filter(submitted_at__lt=end)
        return queryset
