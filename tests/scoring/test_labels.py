"""Scoring names in the reader's language: algorithms on the models page, the expert scorecard's
indicators on the application and customer pages, a product reason by the product's name."""

import pytest
from django.utils import translation

from scoring.admin import algorithm_label
from scoring.reasons import reason_words
from scoring.scorecard import reason_name
from scoring.templatetags.scoring_labels import indicator_label, indicator_labels
from tests.loans.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_algorithm_and_indicator_labels():
    with translation.override("zh-hans"):
        assert algorithm_label("woe_logistic_scorecard") == "WoE 逻辑回归评分卡"
        assert indicator_label("debt_ratio") == "资产负债率"
        assert indicator_labels(["current_ratio", "net_margin"]) == "流动比率, 净利率"
    with translation.override("en"):
        assert algorithm_label("hist_gradient_boosting") == "gradient boosting"
    assert algorithm_label("my_algorithm") == "my_algorithm"


def test_models_page_names_the_algorithm(client, make_user):
    from loansite import roles
    from tests.scoring.factories import ModelVersionFactory

    client.force_login(make_user("ops", role=roles.MODEL_OPS))
    ModelVersionFactory(algorithm="woe_logistic_scorecard")
    html = client.get("/admin/scoring/modelversion/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "WoE 逻辑回归评分卡" in html and "woe_logistic_scorecard" not in html


def test_product_reason_names_the_product_not_its_code():
    ProductFactory(code="INV", name="Inventory finance", name_zh="存货融资")
    reason = reason_words(reason_name("product", level="inv"))
    with translation.override("zh-hans"):
        assert "存货融资" in str(reason) and "inv" not in str(reason)
    with translation.override("en"):
        assert "Inventory finance" in str(reason)


def test_model_kinds_policy_rules_and_straight_through_checks_by_name():
    from scoring.templatetags.scoring_labels import check_labels, model_kind_label, policy_rule_label

    with translation.override("zh-hans"):
        assert model_kind_label("pd") == "违约概率评分卡"
        assert policy_rule_label("watch_list") == "客户在观察名单上"
        assert check_labels(["grade_outside_policy", "risk_flags"]) == "评级不在政策范围内, 风险标记"
    with translation.override("en"):
        assert model_kind_label("pd") == "Probability-of-default scorecard"
        assert policy_rule_label("watch_list") == "Customer on a watch list"
        assert check_labels(["not_scored"]) == "not scored"
