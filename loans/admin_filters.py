"""List filters of the approval workbench."""

from decimal import Decimal

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from loans.models import LoanApplication
from loans.selectors import application_pending


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
    """Status, defaulting to the reviewers' queue (submitted + under review)."""

    title = _("status")
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        # Applications waiting for an identity check come right after the queue.
        verify = LoanApplication.Status.PENDING_VERIFICATION
        others = [choice for choice in LoanApplication.Status.choices if choice[0] != verify]
        return [(self.ALL, _("All")), (verify, verify.label), *others]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return application_pending(queryset)
        if value == self.ALL:
            return queryset
        return queryset.filter(status=value)

    def choices(self, changelist):
        value = self.value()
        yield {
            "selected": value is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Queue: submitted and under review"),
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


class IndustryFilter(admin.SimpleListFilter):
    title = _("industry")
    parameter_name = "industry"

    def lookups(self, request, model_admin):
        from customers.reference import industry_choices

        return industry_choices()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(customer_matches(industry=self.value()))
        return queryset


class CityFilter(admin.SimpleListFilter):
    title = _("city")
    parameter_name = "city"

    def lookups(self, request, model_admin):
        from loans.forms import CITY_LABELS

        return list(CITY_LABELS.items())

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(customer_matches(city=self.value()))
        return queryset
