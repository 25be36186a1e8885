"""The dashboard's customers-by-tag chart names the installed tags in the reader's language."""

from decimal import Decimal

from django.utils import translation

from loansite.dashboard.charts import portfolio_charts


def test_tags_in_chinese():
    charts = {}

    def add(name, title, kind, labels, *args, **kwargs):
        charts[name] = [str(label) for label in labels]

    rows = [{"item": "risk-watch", "customers": 3, "loans": 2, "outstanding": Decimal("100.00")}]
    rows.append({"item": "VIP", "customers": 1, "loans": 1, "outstanding": Decimal("50.00")})
    with translation.override("zh-hans"):
        portfolio_charts({"distribution": {"tag": rows}}, add)
    assert charts["distribution_tag"] == ["风险关注", "VIP"]
