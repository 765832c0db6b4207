"""Branch configuration: one TOML file per branch, validated into typed objects.

Every field carries its meaning and unit in its description; `docs/configuration.md`
is generated from the same descriptions (`branch-hub --config-reference`).
A bad file raises `ConfigError` whose message is one line naming the file, the key
and what is wrong.
"""

from branch_hub.config._appointments import AppointmentSettings
from branch_hub.config._branch import (
    BranchInfo,
    Counter,
    PriorityPolicy,
    QueuePolicy,
    Service,
    Station,
    StationRole,
    Tier,
)
from branch_hub.config._files import HqFiles, check_hq
from branch_hub.config._guest import GuestSettings
from branch_hub.config._hours import WEEKDAYS, OpeningHours
from branch_hub.config._hub import (
    BRIEF_FIELDS,
    STAFF_ROLES,
    BriefsSettings,
    HqSettings,
    HubSettings,
    RetentionSettings,
    split_listen,
)
from branch_hub.config._loading import BranchConfig, load_config, parse_config, resolve_data_dir
from branch_hub.config._lobby import LobbySettings
from branch_hub.config._reference import reference_markdown
from branch_hub.config._sms import SmsSettings
from branch_hub.config._strict import ConfigError

__all__ = [
    "BRIEF_FIELDS",
    "STAFF_ROLES",
    "WEEKDAYS",
    "AppointmentSettings",
    "BranchConfig",
    "BranchInfo",
    "BriefsSettings",
    "ConfigError",
    "Counter",
    "GuestSettings",
    "HqFiles",
    "HqSettings",
    "HubSettings",
    "LobbySettings",
    "OpeningHours",
    "PriorityPolicy",
    "QueuePolicy",
    "RetentionSettings",
    "Service",
    "SmsSettings",
    "Station",
    "StationRole",
    "Tier",
    "check_hq",
    "load_config",
    "parse_config",
    "reference_markdown",
    "resolve_data_dir",
    "split_listen",
]
