import django_filters

from customers.reference import industry_choices
from loans.models import Channel, LoanApplication
from loans.selectors import application_pending


class ApplicationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=LoanApplication.Status.choices)
    queue = django_filters.BooleanFilter(method="filter_queue", label="Pending (submitted or under review)")
    product = django_filters.CharFilter(field_name="product__code")
    industry = django_filters.ChoiceFilter(field_name="customer__industry", choices=industry_choices)
    city = django_filters.CharFilter(field_name="customer__city")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    grade = django_filters.CharFilter(field_name="score_grade")
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")
    score_min = django_filters.NumberFilter(field_name="score_points", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score_points", lookup_expr="lte")
    submitted_from = django_filters.DateFilter(field_name="submitted_at", lookup_expr="date__gte")
    submitted_to = django_filters.DateFilter(field_name="submitted_at", lookup_expr="date__lte")
    customer = django_filters.NumberFilter(field_name="customer_id")

    class Meta:
        model = LoanApplication
        fields = []

    def filter_queue(self, queryset, name, value):
        if value:
            return application_pending(queryset)
        return queryset.exclude(status__in=LoanApplication.PENDING)
