"""Scorecards on any data: a declared schema, the table it describes turned into features.

Pure functions over a pandas DataFrame (no database). A schema names the target column and,
per column, its type (``numeric`` or ``categorical`` of any dtype: text, numbers that code
categories, booleans), the business direction of a numeric one (``higher_better``,
``higher_worse`` or ``none``) and its special values (sentinels such as -1 or 9999 that
mean "not known"). Preparing a table maps ±inf and the special values to missing, turns a
categorical value into one canonical text whatever its dtype (``1``, ``1.0`` and ``"1"``
are the same level; ``True``, ``"true"`` and ``"yes"`` too), and warns about every column
it cannot use instead of dropping it silently.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from scoring.scorecard import DIRECTIONS, NO_DIRECTION

NUMERIC = "numeric"
CATEGORICAL = "categorical"
IGNORE = "ignore"
TYPES = (NUMERIC, CATEGORICAL, IGNORE)
MISSING_LEVEL = "unknown"

_TRUE = {"true", "yes", "y", "t", "是"}
_FALSE = {"false", "no", "n", "f", "否"}
_BOOLEAN_LEVELS = {"true", "false", "1", "0"}
_EMPTY = {"", "na", "n/a", "nan", "null", "none", "-"}
# A numeric column whose cells are mostly not numbers is reported (the rest are missing).
NOT_NUMBER_WARNING_SHARE = 0.05


class SchemaError(ValueError):
    """The schema or the table cannot be used; the message says why (for a form error)."""


@dataclass
class ColumnSpec:
    name: str
    type: str = NUMERIC
    direction: str = NO_DIRECTION
    special_values: list = field(default_factory=list)
    # A yes/no column (found at training): 1/0 read as true/false there, whatever the spelling.
    boolean: bool = False

    def as_json(self) -> dict:
        out = {
            "name": self.name,
            "type": self.type,
            "direction": self.direction,
            "special_values": list(self.special_values),
        }
        if self.boolean:
            out["boolean"] = True
        return out


@dataclass
class DataSchema:
    target: str
    columns: list[ColumnSpec] = field(default_factory=list)
    # Target values that mean "bad" (default); anything else is good.
    bad_values: list = field(default_factory=lambda: ["1", "true", "yes", "bad", "default"])

    def as_json(self) -> dict:
        return {
            "target": self.target,
            "bad_values": list(self.bad_values),
            "columns": [c.as_json() for c in self.columns],
        }

    @classmethod
    def from_json(cls, data) -> "DataSchema":
        if not isinstance(data, dict) or not str(data.get("target") or "").strip():
            raise SchemaError(_("The schema needs a target column."))
        columns = []
        raw_columns = data.get("columns") or []
        if isinstance(raw_columns, dict):  # {"name": {"type": ...}} is accepted too
            raw_columns = [{"name": k, **(v or {})} for k, v in raw_columns.items()]
        for spec in raw_columns:
            if not isinstance(spec, dict) or not str(spec.get("name") or "").strip():
                raise SchemaError(_("Every column of the schema needs a name."))
            kind = spec.get("type", NUMERIC)
            direction = spec.get("direction", NO_DIRECTION) or NO_DIRECTION
            if kind not in TYPES:
                raise SchemaError(_("Column %(c)s: unknown type %(t)s.") % {"c": spec["name"], "t": kind})
            if direction not in DIRECTIONS:
                raise SchemaError(_("Column %(c)s: unknown direction %(d)s.") % {"c": spec["name"], "d": direction})
            specials = spec.get("special_values") or []
            if not isinstance(specials, list):
                raise SchemaError(_("Column %(c)s: special values must be a list.") % {"c": spec["name"]})
            columns.append(ColumnSpec(str(spec["name"]), kind, direction, specials, bool(spec.get("boolean"))))
        bad = data.get("bad_values") or ["1", "true", "yes", "bad", "default"]
        return cls(target=str(data["target"]), columns=columns, bad_values=[canonical(v) for v in bad])

    @property
    def used(self) -> list[ColumnSpec]:
        return [c for c in self.columns if c.type != IGNORE and c.name != self.target]

    @property
    def categorical(self) -> list[str]:
        return [c.name for c in self.used if c.type == CATEGORICAL]

    @property
    def directions(self) -> dict[str, str]:
        return {c.name: c.direction for c in self.used if c.type == NUMERIC}


def canonical(value) -> str:
    """One text per category whatever the cell's dtype: None/NaN/"" -> "unknown"; booleans and
    yes/no -> "true"/"false"; 1, 1.0 and "1" -> "1"; text trimmed and lower-cased."""
    if value is None:
        return MISSING_LEVEL
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return MISSING_LEVEL
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip().lower()
    if text in _EMPTY:
        return MISSING_LEVEL
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    try:
        number = float(text)
    except ValueError:
        return text
    return canonical(number)


def _numbers(values: pd.Series) -> np.ndarray:
    if values.dtype.kind in "fiu":
        return np.array(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)  # a writable copy
    if values.dtype.kind == "b":
        return np.array(values.to_numpy(dtype=float), dtype=float)
    out = pd.to_numeric(values.map(lambda v: str(v).strip().replace(",", "") if isinstance(v, str) else v),
                        errors="coerce")  # fmt: skip
    return np.array(out, dtype=float)


def schema_detect(frame: pd.DataFrame, *, target: str) -> DataSchema:
    """A first guess an analyst edits: numbers -> numeric (direction none); text, booleans and
    columns with two values at most -> categorical."""
    if target not in frame.columns:
        raise SchemaError(_("The file has no column %(c)s (the target).") % {"c": target})
    columns = []
    for name in frame.columns:
        if name == target:
            continue
        values = frame[name]
        present = values[values.map(lambda v: canonical(v) != MISSING_LEVEL)]
        numbers = _numbers(present)
        numeric_share = float(np.isfinite(numbers).mean()) if len(present) else 0.0
        distinct = present.map(canonical).nunique()
        is_bool = values.dtype.kind == "b" or set(present.map(canonical).unique()) <= {"true", "false"}
        kind = NUMERIC if numeric_share >= 0.95 and distinct > 2 and not is_bool else CATEGORICAL
        columns.append(ColumnSpec(str(name), kind, NO_DIRECTION, []))
    return DataSchema(target=target, columns=columns)


def schema_target(frame: pd.DataFrame, schema: DataSchema) -> np.ndarray:
    """The target as 0/1 (1 = bad); rows without a target are an error."""
    if schema.target not in frame.columns:
        raise SchemaError(_("The file has no column %(c)s (the target).") % {"c": schema.target})
    values = frame[schema.target].map(canonical)
    if (values == MISSING_LEVEL).any():
        raise SchemaError(
            _("%(n)s rows have no value in the target column %(c)s.")
            % {"n": int((values == MISSING_LEVEL).sum()), "c": schema.target}
        )
    if values.nunique() != 2:
        raise SchemaError(
            _("The target column %(c)s must hold exactly two values (good and bad); it holds %(n)s.")
            % {"c": schema.target, "n": values.nunique()}
        )
    y = values.isin([canonical(v) for v in schema.bad_values]).to_numpy().astype(int)
    if y.min() == y.max():
        raise SchemaError(
            _("None of the target's values means bad (%(bad)s); say which one does in the schema's bad_values.")
            % {"bad": ", ".join(schema.bad_values)}
        )
    return y


def schema_prepare(frame: pd.DataFrame, schema: DataSchema, *, fitting: bool = False) -> tuple[pd.DataFrame, list]:
    """The schema's columns of ``frame`` as scorecard features, and the warnings.

    Numeric: numbers as floats, ±inf and the special values -> missing, text that is not a
    number -> missing (reported above a small share). Categorical: :func:`canonical` text.
    A column of the schema absent from the table is an error; at fitting time a column
    that is all missing or constant is reported and left out, never silently dropped."""
    missing = [c.name for c in schema.used if c.name not in frame.columns]
    if missing:
        raise SchemaError(_("The file lacks the schema's columns: %(c)s.") % {"c": ", ".join(missing)})
    warnings: list[dict] = []
    out = {}
    for spec in schema.used:
        values = frame[spec.name]
        if spec.type == NUMERIC:
            x = _numbers(values)
            present = values.map(lambda v: canonical(v) != MISSING_LEVEL).to_numpy()
            not_number = present & np.isnan(x)
            infinite = np.isinf(x)
            x[infinite] = np.nan
            specials = [float(s) for s in spec.special_values if _is_number(s)]
            special = np.isin(x, specials) if specials else np.zeros(len(x), dtype=bool)
            x[special] = np.nan
            if fitting and not_number.mean() > NOT_NUMBER_WARNING_SHARE:
                warnings.append(
                    {
                        "column": spec.name,
                        "message": _(
                            "%(n)s values are not numbers and were treated as missing; is the column categorical?"
                        )
                        % {"n": int(not_number.sum())},
                    }
                )
            if fitting and (infinite.any() or special.any()):
                warnings.append(
                    {
                        "column": spec.name,
                        "message": _("%(inf)s infinite and %(sp)s special values treated as missing.")
                        % {"inf": int(infinite.sum()), "sp": int(special.sum())},
                    }
                )
            out[spec.name] = x
        else:
            levels = values.map(canonical)
            if fitting and not spec.boolean:
                seen = set(levels.unique()) - {MISSING_LEVEL}
                spec.boolean = bool(seen) and seen <= _BOOLEAN_LEVELS and bool(seen & {"true", "false"})
            if spec.boolean:
                levels = levels.replace({"1": "true", "0": "false"})
            out[spec.name] = levels.to_numpy(dtype=object)
    features = pd.DataFrame(out, index=frame.index)
    if fitting:
        for spec in schema.used:
            col = features[spec.name]
            known = col[col != MISSING_LEVEL] if spec.type == CATEGORICAL else col.dropna()
            if len(known) == 0:
                reason = _("no value at all: left out")
            elif known.nunique() < 2:
                reason = _("one value only: left out")
            else:
                continue
            warnings.append({"column": spec.name, "message": reason})
            features = features.drop(columns=[spec.name])
    return features, warnings


def _is_number(value) -> bool:
    try:
        return np.isfinite(float(value))
    except (TypeError, ValueError):
        return False
