"""The model registry: artifacts, activation, retirement and rollback (audited)."""

import io
from collections import OrderedDict

import joblib
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import LoanProduct
from loansite.errors import Conflict, InvalidTransition, NotFound
from scoring.models import ModelVersion
from scoring.selectors import rollback_target

_ARTIFACTS: "OrderedDict[tuple, object]" = OrderedDict()
_CACHE_SIZE = 12


def artifact_dumps(obj) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=3)
    return buffer.getvalue()


def model_version_artifact(*, version: ModelVersion):
    """The unpickled artifact of ``version`` (versions are immutable: cached per process)."""
    # Keyed by id, kind and number: a database rebuilt under the same process (tests) can
    # reuse an id for another kind of model.
    key = (version.pk, version.kind, version.version)
    if key in _ARTIFACTS:
        _ARTIFACTS.move_to_end(key)
        return _ARTIFACTS[key]
    data = ModelVersion.objects.filter(pk=version.pk).values_list("artifact", flat=True).first()
    if not data:
        raise NotFound(_("Model version %(label)s has no artifact.") % {"label": version.label})
    obj = joblib.load(io.BytesIO(bytes(data)))
    _ARTIFACTS[key] = obj
    while len(_ARTIFACTS) > _CACHE_SIZE:
        _ARTIFACTS.popitem(last=False)
    return obj


_ACTIVE_FIELDS = ["id", "kind", "version", "status"]


def _active_sql(*, with_product: bool) -> str:
    q = connection.ops.quote_name
    columns = ", ".join(f"v.{q(ModelVersion._meta.get_field(f).column)}" for f in _ACTIVE_FIELDS)
    versions = q(ModelVersion._meta.db_table)
    status = q(ModelVersion._meta.get_field("status").column)
    if not with_product:
        return f"SELECT {columns} FROM {versions} v WHERE v.{status} = %s"
    product = LoanProduct._meta
    lo, hi, code = (q(product.get_field(f).column) for f in ("min_amount", "max_amount", "code"))
    return (
        f"SELECT {columns}, p.{lo}, p.{hi} FROM {versions} v "
        f"LEFT JOIN {q(product.db_table)} p ON p.{code} = %s WHERE v.{status} = %s"
    )


def model_versions_active(*, product_code: str | None = None) -> tuple[dict, tuple[float, float] | None]:
    """The active version of each kind (without the artifact bytes) and, with
    ``product_code``, that product's (minimum, maximum) amount (``None`` when there is no
    such product, or no active version): one statement. A prediction reads both on every
    call and caches neither, so an activation, retirement or rollback made by any process
    counts from its commit on (the artifacts themselves are immutable, cached per version)."""
    with connection.cursor() as cursor:
        if product_code:
            cursor.execute(_active_sql(with_product=True), [product_code, ModelVersion.Status.ACTIVE.value])
        else:
            cursor.execute(_active_sql(with_product=False), [ModelVersion.Status.ACTIVE.value])
        rows = cursor.fetchall()
    width = len(_ACTIVE_FIELDS)
    versions = {row[1]: ModelVersion.from_db(connection.alias, _ACTIVE_FIELDS, row[:width]) for row in rows}
    bounds = None
    if product_code and rows and rows[0][width] is not None:
        bounds = (float(rows[0][width]), float(rows[0][width + 1]))
    return versions, bounds


def _move(version: ModelVersion, *, to_status: str, **values) -> None:
    """Conditional UPDATE on the expected status: exactly one concurrent caller wins."""
    if not ModelVersion.can_move(version.status, to_status):
        raise InvalidTransition(
            _("Model version %(label)s cannot go from %(from)s to %(to)s.")
            % {"label": version.label, "from": version.get_status_display(), "to": to_status}
        )
    updated = ModelVersion.objects.filter(pk=version.pk, status=version.status).update(status=to_status, **values)
    if updated != 1:
        raise Conflict()
    previous = version.status
    version.status = to_status
    for key, value in values.items():
        setattr(version, key, value)
    version._previous_status = previous


def _lock(version: ModelVersion) -> ModelVersion:
    return ModelVersion.objects.select_for_update().defer("artifact").get(pk=version.pk)


@transaction.atomic
def model_version_activate(*, version: ModelVersion, actor=None, reason: str = "") -> ModelVersion:
    """Make ``version`` the champion of its kind; the current active one is retired."""
    version = _lock(version)
    now = timezone.now()
    current = (
        ModelVersion.objects.select_for_update()
        .defer("artifact")
        .filter(kind=version.kind, status=ModelVersion.Status.ACTIVE)
        .exclude(pk=version.pk)
        .first()
    )
    if not ModelVersion.can_move(version.status, ModelVersion.Status.ACTIVE):
        raise InvalidTransition(
            _("Only a ready or retired version can be activated; %(label)s is %(status)s.")
            % {"label": version.label, "status": version.get_status_display()}
        )
    if current is not None:
        _move(current, to_status=ModelVersion.Status.RETIRED, retired_at=now)
    before = version.status
    _move(version, to_status=ModelVersion.Status.ACTIVE, activated_at=now)
    audit_record(
        action=AuditAction.ACTIVATE,
        actor=actor,
        target=version,
        changes={
            "status": [before, version.status],
            "kind": version.kind,
            "replaced": current.label if current else None,
        },
        reason=reason,
    )
    return version


@transaction.atomic
def model_version_retire(*, version: ModelVersion, actor=None, reason: str = "") -> ModelVersion:
    """Take ``version`` out of service (active or ready -> retired). Scoring of that kind stops."""
    version = _lock(version)
    before = version.status
    _move(version, to_status=ModelVersion.Status.RETIRED, retired_at=timezone.now())
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=version,
        changes={"status": [before, version.status]},
        reason=reason,
    )
    return version


@transaction.atomic
def model_version_rollback(*, kind: str, actor=None, reason: str = "") -> ModelVersion:
    """One action: bring back the version that was active before the current one."""
    target = rollback_target(kind=kind)
    if target is None:
        raise NotFound(_("There is no earlier active version to roll back to."))
    return model_version_activate(version=target, actor=actor, reason=reason or _("Rollback"))
