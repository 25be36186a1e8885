"""The risk app's models (a package: inputs, rules, events, data management)."""

from risk.models.data import DataQualityCheck, DataQualityResult, DataSource, WatchBaseline
from risk.models.events import Alert, AlertAction, EventSource, RiskEvent, RiskEventEntry
from risk.models.inputs import (
    CustomerRestriction,
    Device,
    DeviceCustomer,
    IpRange,
    Level,
    LoginEvent,
    Source,
    Transaction,
    WatchListEntry,
)
from risk.models.rules import EVENT_RULE_KINDS, LevelThreshold, RiskRule, RiskRuleVersion, RuleKind

__all__ = [
    "EVENT_RULE_KINDS",
    "Alert",
    "AlertAction",
    "CustomerRestriction",
    "DataQualityCheck",
    "DataQualityResult",
    "DataSource",
    "Device",
    "DeviceCustomer",
    "EventSource",
    "IpRange",
    "Level",
    "LevelThreshold",
    "LoginEvent",
    "RiskEvent",
    "RiskEventEntry",
    "RiskRule",
    "RiskRuleVersion",
    "RuleKind",
    "Source",
    "Transaction",
    "WatchBaseline",
    "WatchListEntry",
]
