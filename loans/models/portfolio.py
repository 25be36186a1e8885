"""Daily portfolio snapshots: the book's history summed per day, written by the daily close's
``portfolio`` step (``loans.services.portfolio``) and by ``manage.py portfolio_backfill``.

Each table holds a few rows per day (one per owner and key), never one per loan, so the
dashboard reads a year of history from a few thousand rows however large the book is.
``owner_id`` is the user id of the customer's relationship manager at the close (0: none): a
loan officer's dashboard sums their own rows, everyone else's sums all of them.

- ``PortfolioDay``: live loans by days-past-due bucket and five-category class.
- ``PortfolioVintage``: every loan disbursed in a month (its cohort) and how many of them had
  defaulted by the date (ever non-performing or written off): the vintage curves.
- ``PortfolioRoll``: at a month's last day, how the loans of each bucket at the previous
  month's last day moved (``closed``: paid off or written off since).
- ``PortfolioMix``: customers and loans by a dimension (city, city tier, industry, rating, tag,
  model grade, good or risky): count, outstanding, defaulted, and for the good-versus-risky
  radar each indicator's sum and count (``item``: the city, tier, ... or ``good`` / ``risky``).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from loans.models.delinquency import DpdBucket, RiskClass
from loans.models.products import MONEY

ROLL_CLOSED = "closed"


class PortfolioDay(models.Model):
    date = models.DateField(_("date"))
    owner_id = models.PositiveIntegerField(_("manager's user id"), default=0)
    dpd_bucket = models.CharField(_("bucket"), max_length=8, choices=DpdBucket.choices)
    risk_class = models.CharField(_("category"), max_length=16, choices=RiskClass.choices)
    loans = models.PositiveIntegerField(_("loans"), default=0)
    outstanding_principal = models.DecimalField(_("outstanding principal"), **MONEY, default=0)
    overdue_principal = models.DecimalField(_("overdue principal"), **MONEY, default=0)
    provision = models.DecimalField(_("provision"), **MONEY, default=0)
    expected_loss = models.DecimalField(_("expected loss"), **MONEY, default=0)

    class Meta:
        verbose_name = _("portfolio day")
        verbose_name_plural = _("portfolio days")
        ordering = ["-date", "owner_id", "dpd_bucket", "risk_class"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["date", "owner_id", "dpd_bucket", "risk_class"], name="portfolio_day_unique"
            )
        ]
        indexes = [models.Index(fields=["owner_id", "date"], name="portfolio_day_owner_idx")]

    def __str__(self):
        return f"{self.date} {self.owner_id} {self.dpd_bucket} {self.risk_class}"


class PortfolioVintage(models.Model):
    date = models.DateField(_("date"))
    cohort = models.DateField(_("disbursement month"))
    owner_id = models.PositiveIntegerField(_("manager's user id"), default=0)
    loans = models.PositiveIntegerField(_("loans"), default=0)
    principal = models.DecimalField(_("principal disbursed"), **MONEY, default=0)
    defaulted_loans = models.PositiveIntegerField(_("loans defaulted"), default=0)
    defaulted_principal = models.DecimalField(_("principal defaulted"), **MONEY, default=0)

    class Meta:
        verbose_name = _("portfolio vintage")
        verbose_name_plural = _("portfolio vintages")
        ordering = ["-date", "cohort", "owner_id"]
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["date", "cohort", "owner_id"], name="portfolio_vintage_unique")]
        indexes = [models.Index(fields=["owner_id", "date"], name="portfolio_vintage_owner_idx")]

    def __str__(self):
        return f"{self.date} {self.cohort:%Y-%m} {self.owner_id}"


class PortfolioRoll(models.Model):
    date = models.DateField(_("month end"))
    owner_id = models.PositiveIntegerField(_("manager's user id"), default=0)
    from_bucket = models.CharField(_("bucket a month before"), max_length=8, choices=DpdBucket.choices)
    to_bucket = models.CharField(_("bucket at month end"), max_length=8)
    loans = models.PositiveIntegerField(_("loans"), default=0)
    outstanding_principal = models.DecimalField(_("outstanding principal a month before"), **MONEY, default=0)

    class Meta:
        verbose_name = _("portfolio roll")
        verbose_name_plural = _("portfolio rolls")
        ordering = ["-date", "owner_id", "from_bucket", "to_bucket"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["date", "owner_id", "from_bucket", "to_bucket"], name="portfolio_roll_unique"
            )
        ]

    def __str__(self):
        return f"{self.date} {self.from_bucket} -> {self.to_bucket}"


class PortfolioMix(models.Model):
    class Dimension(models.TextChoices):
        CITY = "city", _("City")
        TIER = "tier", _("City tier")
        INDUSTRY = "industry", _("Industry")
        RATING = "rating", _("Internal rating")
        TAG = "tag", _("Tag")
        GRADE = "grade", _("Model grade")
        GROUP = "group", _("Good or risky")

    date = models.DateField(_("date"))
    owner_id = models.PositiveIntegerField(_("manager's user id"), default=0)
    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices)
    item = models.CharField(_("item"), max_length=64, blank=True)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    loans = models.PositiveIntegerField(_("loans"), default=0)
    outstanding_principal = models.DecimalField(_("outstanding principal"), **MONEY, default=0)
    defaulted_loans = models.PositiveIntegerField(_("loans defaulted"), default=0)
    # Only for the good/risky groups: each indicator's sum and how many customers have it.
    measures = models.JSONField(_("indicators"), default=dict, blank=True)

    class Meta:
        verbose_name = _("portfolio mix")
        verbose_name_plural = _("portfolio mixes")
        ordering = ["-date", "dimension", "item", "owner_id"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["date", "owner_id", "dimension", "item"], name="portfolio_mix_unique")
        ]
        indexes = [models.Index(fields=["date", "dimension"], name="portfolio_mix_date_dim_idx")]

    def __str__(self):
        return f"{self.date} {self.dimension} {self.item}"


class ApplicationDay(models.Model):
    """The applications and disbursements of one local day, summed for the whole bank: what the
    dashboard's application figures, growth, industry and status charts read for closed days
    (``loans.services.application_days``). Rows are keyed by the customer's industry and the
    application's status when the day was summed; each counter counts the events of that day:

    - ``submitted``: applications submitted that day, their requested ``submitted_amount``, the
      sum and count of their customers' bureau scores and of their model grades (A=1 … E=5);
    - ``decided``: applications decided that day and ``decided_amount`` (the approved amount,
      else the requested one); by ``status`` the reader tells approvals from rejections;
    - ``created``: applications created that day and their requested ``created_amount``;
    - ``disbursed``: loans disbursed that day and their principal (``status``: the loan's
      application's, empty for a loan without one).

    ``has_customer`` is false for public applications whose identity is not verified yet.
    """

    date = models.DateField(_("date"))
    industry = models.CharField(_("industry"), max_length=32, blank=True)
    has_customer = models.BooleanField(_("has a customer"), default=True)
    status = models.CharField(_("status"), max_length=20, blank=True)
    submitted = models.PositiveIntegerField(_("applications submitted"), default=0)
    submitted_amount = models.DecimalField(_("amount submitted"), **MONEY, default=0)
    score_sum = models.BigIntegerField(_("sum of bureau scores"), default=0)
    score_count = models.PositiveIntegerField(_("bureau scores"), default=0)
    grade_sum = models.PositiveIntegerField(_("sum of grade points"), default=0)
    grade_count = models.PositiveIntegerField(_("grades"), default=0)
    decided = models.PositiveIntegerField(_("applications decided"), default=0)
    decided_amount = models.DecimalField(_("amount decided"), **MONEY, default=0)
    created = models.PositiveIntegerField(_("applications created"), default=0)
    created_amount = models.DecimalField(_("amount created"), **MONEY, default=0)
    disbursed = models.PositiveIntegerField(_("loans disbursed"), default=0)
    disbursed_amount = models.DecimalField(_("principal disbursed"), **MONEY, default=0)

    class Meta:
        verbose_name = _("application day")
        verbose_name_plural = _("application days")
        ordering = ["-date", "industry", "status"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["date", "industry", "has_customer", "status"], name="application_day_unique"
            )
        ]

    def __str__(self):
        return f"{self.date} {self.industry} {self.status}"


class ApplicationDaysSummed(models.Model):
    """How far the application days are summed (one row): every day up to ``through``, from
    the applications as they were at ``as_of`` (later changes are summed again next time)."""

    through = models.DateField(_("summed through"))
    as_of = models.DateTimeField(_("as of"))

    class Meta:
        verbose_name = _("application days summed")
        verbose_name_plural = _("application days summed")
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.through} ({self.as_of:%Y-%m-%d %H:%M})"
