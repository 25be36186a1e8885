"""Demo customers and relationship managers, built from ``loansite.demo_profiles``.

Shares ``ctx.made["customer_profiles"]`` (the profile DataFrame, row i = customer i) and
``ctx.made["customer_ids"]`` (the customers' primary keys, aligned with the rows).
"""

import datetime
import math

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from customers.models import City, CreditLine, Customer, Interest, Need, RelationshipManager, Tag
from customers.reference import city_tier_map
from customers.services import assignment_run_matching
from customers.validators import make_credit_code, make_mobile_phone, make_resident_id
from loansite.demo import DemoContext, demo_seeder
from loansite.demo_profiles import CITIES, INDUSTRIES, customer_profiles
from loansite.money import money
from loansite.roles import LOAN_OFFICER

INDUSTRY_ZH = {
    "retail": "商行",
    "catering": "餐饮管理",
    "wholesale": "商贸",
    "manufacturing": "制造",
    "services": "企业服务",
    "technology": "科技",
    "agriculture": "农业发展",
    "transport": "物流",
}
NAME_PARTS = list("鑫华瑞恒盛源丰达宏安嘉金泰隆兴祥和信福德汇诚")
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚")
RATINGS = np.array(["A", "B", "C", "D", "E"])


def _decimal(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else money(value)


def _managers(ctx: DemoContext, rng) -> None:
    n = max(4, ctx.customers // 40)
    capacity = math.ceil(ctx.customers * 1.15 / n)
    group = Group.objects.filter(name=LOAN_OFFICER).first()
    user_model = get_user_model()
    industries = [i.code for i in INDUSTRIES]
    cities = [city for city, _tier in CITIES]
    city_zh = _city_names_zh()
    for i in range(n):
        surname, given = SURNAMES[i % len(SURNAMES)], GIVEN[(i * 7) % len(GIVEN)]
        user, created = user_model.objects.get_or_create(
            username=f"rm{i + 1:03d}", defaults={"first_name": given, "last_name": surname, "is_staff": True}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        if group:
            user.groups.add(group)
        expertise = sorted(set(rng.choice(industries, size=int(rng.integers(1, 4)), replace=False).tolist()))
        RelationshipManager.objects.update_or_create(
            user=user,
            defaults={
                "city": cities[i % len(cities)],
                "branch": f"{city_zh.get(cities[i % len(cities)], cities[i % len(cities)])}分行",
                "industries": expertise,
                "seniority": int(rng.integers(1, 5)),
                "capacity": capacity,
                "active": True,
            },
        )


def _city_names_zh() -> dict[str, str]:
    return dict(City.objects.values_list("name_en", "short_name"))


@demo_seeder(order=10)
@transaction.atomic
def seed_customers(ctx: DemoContext) -> None:
    rng = ctx.child_rng("customers")
    profiles = customer_profiles(rng, ctx.customers)
    _managers(ctx, rng)

    existing_phones = dict(Customer.objects.values_list("phone", "pk"))
    # Names and tiers of the demo's cities come from the reference data (customers.City).
    names_zh, tiers = _city_names_zh(), city_tier_map()
    today = ctx.now.date()
    rating_cut = np.quantile(profiles["quality"], [0.85, 0.6, 0.3, 0.1])
    individual = rng.random(len(profiles)) < 0.3
    new, new_rows, ids = [], [], []
    phones = set()
    for i, row in enumerate(profiles.itertuples(index=False)):
        phone = make_mobile_phone(rng)
        while phone in phones:
            phone = make_mobile_phone(rng)
        phones.add(phone)
        rating = RATINGS[int(np.searchsorted(-rating_cut, -row.quality, side="right"))]
        city_zh = names_zh.get(row.city, row.city)
        brand = "".join(rng.choice(NAME_PARTS, size=2, replace=False))
        if individual[i]:
            name = f"{city_zh}{brand}{INDUSTRY_ZH[row.industry]}店"
            credit_code = make_credit_code(rng, city=row.city, individual=True) if rng.random() < 0.5 else None
            id_number = make_resident_id(rng, city=row.city)
        else:
            name = f"{city_zh}{brand}{INDUSTRY_ZH[row.industry]}有限公司"
            credit_code, id_number = make_credit_code(rng, city=row.city), None
        street_no, rated_days_ago = int(rng.integers(1, 999)), int(rng.integers(0, 365))
        if phone in existing_phones:  # seeded before with the same seed: reuse that customer
            ids.append(existing_phones[phone])
            continue
        ids.append(None)
        new_rows.append(i)
        new.append(
            Customer(
                kind=Customer.Kind.INDIVIDUAL if individual[i] else Customer.Kind.ENTERPRISE,
                name=name,
                credit_code=credit_code,
                id_number=id_number,
                phone=phone,
                email=f"contact{i + 1}@example.cn",
                address=f"{city_zh}市{brand}路{street_no}号",
                city=row.city,
                city_tier=tiers.get(row.city, int(row.city_tier)),
                industry=row.industry,
                years_in_business=int(row.years_in_business),
                employees=int(row.employees),
                area_m2=money(row.area_m2),
                monthly_revenue=money(row.monthly_revenue),
                monthly_cost=money(row.monthly_cost),
                monthly_foot_traffic=int(row.monthly_foot_traffic),
                credit_score=int(row.credit_score),
                total_assets=_decimal(row.total_assets),
                total_liabilities=_decimal(row.total_liabilities),
                current_assets=_decimal(row.current_assets),
                current_liabilities=_decimal(row.current_liabilities),
                net_profit=_decimal(row.net_profit),
                annual_revenue=_decimal(row.annual_revenue),
                rating=rating,
                rating_date=today - datetime.timedelta(days=rated_days_ago),
                rating_source="annual review",
            )
        )
    Customer.objects.bulk_create(new, batch_size=500)
    for i, customer in zip(new_rows, new, strict=True):
        ids[i] = customer.pk

    _profile_labels(profiles, new_rows, new, rng)
    _credit_lines(profiles, new_rows, new, rng, today)
    assignment_run_matching(actor=None)

    ctx.made["customer_profiles"] = profiles
    ctx.made["customer_ids"] = ids
    ctx.log(f"  {len(new)} customers, {RelationshipManager.objects.count()} relationship managers")


def _profile_labels(profiles, rows, customers, rng) -> None:
    tags = dict(Tag.objects.values_list("name", "pk"))
    needs = list(Need.objects.values_list("pk", flat=True))
    interests = list(Interest.objects.values_list("pk", flat=True))
    vip_cut = profiles["monthly_revenue"].quantile(0.9)
    tag_links, need_links, interest_links = [], [], []
    for i, customer in zip(rows, customers, strict=True):
        row = profiles.iloc[i]
        chosen = []
        if row.monthly_revenue >= vip_cut:
            chosen.append("VIP")
        if row.years_in_business <= 1:
            chosen.append("new")
        if customer.rating in ("D", "E"):
            chosen.append("risk-watch")
        if row.quality > 1.2 and row.years_in_business <= 5:
            chosen.append("high-growth")
        tag_links += [Customer.tags.through(customer_id=customer.pk, tag_id=tags[t]) for t in chosen if t in tags]
        if needs:
            for pk in rng.choice(needs, size=int(rng.integers(1, 3)), replace=False):
                need_links.append(Customer.needs.through(customer_id=customer.pk, need_id=int(pk)))
        if interests:
            for pk in rng.choice(interests, size=int(rng.integers(0, 3)), replace=False):
                interest_links.append(Customer.interests.through(customer_id=customer.pk, interest_id=int(pk)))
    Customer.tags.through.objects.bulk_create(tag_links, batch_size=1000)
    Customer.needs.through.objects.bulk_create(need_links, batch_size=1000)
    Customer.interests.through.objects.bulk_create(interest_links, batch_size=1000)


def _credit_lines(profiles, rows, customers, rng, today) -> None:
    lines = []
    for i, customer in zip(rows, customers, strict=True):
        if customer.rating not in ("A", "B", "C"):
            continue
        months = {"A": 6, "B": 4, "C": 2}[customer.rating]
        limit = max(10_000, round(float(profiles.iloc[i].monthly_revenue) * months, -4))
        start = today - datetime.timedelta(days=int(rng.integers(0, 200)))
        lines.append(
            CreditLine(
                customer=customer,
                limit=money(limit),
                valid_from=start,
                valid_to=start + datetime.timedelta(days=365),
            )
        )
    CreditLine.objects.bulk_create(lines, batch_size=500)
