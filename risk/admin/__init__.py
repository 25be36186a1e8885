"""The risk app in the admin: rules, events and alerts, inputs, data management."""

from risk.admin import data, events, inputs, rules  # noqa: F401
