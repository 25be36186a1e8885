import django_filters

from customers.models import Assignment, Customer, Rating
from customers.reference import industry_choices


class CustomerFilter(django_filters.FilterSet):
    industry = django_filters.MultipleChoiceFilter(choices=industry_choices)
    rating = django_filters.MultipleChoiceFilter(choices=Rating.choices)
    city = django_filters.CharFilter(lookup_expr="iexact")
    tag = django_filters.CharFilter(field_name="tags__name", distinct=True)
    revenue_min = django_filters.NumberFilter(field_name="monthly_revenue", lookup_expr="gte")
    revenue_max = django_filters.NumberFilter(field_name="monthly_revenue", lookup_expr="lt")
    has_manager = django_filters.BooleanFilter(field_name="manager", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Customer
        fields = ["kind", "industry", "city", "city_tier", "rating", "manager", "tag"]


class AssignmentFilter(django_filters.FilterSet):
    class Meta:
        model = Assignment
        fields = ["customer", "manager", "kind", "is_current", "run"]
