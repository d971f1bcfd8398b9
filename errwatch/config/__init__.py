"""The configuration: schema, loading (config.toml and ``ERRWATCH_*``), dump.

config must not import from core beyond plain helpers (units, and credentials checked at load).
"""

from errwatch.config.dump import dump_config
from errwatch.config.environ import ENV_PREFIX, environment_names
from errwatch.config.loading import config_from_mapping, load_config
from errwatch.config.schema import (
    DEFAULT_ALERTS,
    DEFAULT_PATH,
    INJECTION_HEADER,
    MAX_RATE,
    AlertConfig,
    AlertValueName,
    AuthConfig,
    ByteSize,
    Config,
    DashboardConfig,
    Duration,
    FaultConfig,
    FaultKind,
    InjectionConfig,
    LogConfig,
    PanelConfig,
    PathStr,
    PrometheusConfig,
    ProxyConfig,
    RecordingConfig,
    TargetConfig,
    Url,
)

__all__ = [
    "DEFAULT_ALERTS",
    "DEFAULT_PATH",
    "ENV_PREFIX",
    "INJECTION_HEADER",
    "MAX_RATE",
    "AlertConfig",
    "AlertValueName",
    "AuthConfig",
    "ByteSize",
    "Config",
    "DashboardConfig",
    "Duration",
    "FaultConfig",
    "FaultKind",
    "InjectionConfig",
    "LogConfig",
    "PanelConfig",
    "PathStr",
    "PrometheusConfig",
    "ProxyConfig",
    "RecordingConfig",
    "TargetConfig",
    "Url",
    "config_from_mapping",
    "dump_config",
    "environment_names",
    "load_config",
]
