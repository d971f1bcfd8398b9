"""The errors errwatch raises on purpose.

Hierarchy::

    ErrwatchError          base; its message is one line meant for a person
      ConfigError          a config file or a command-line value is wrong
      SourceError          a data source (Prometheus, a log, the API) failed
      UsageError           a command was used wrongly (bad argument, refused target)

The command line prints ``errwatch: <message>`` for any of them and exits 2.
"""


class ErrwatchError(Exception):
    """Base of every error errwatch reports to a person."""


class ConfigError(ErrwatchError):
    """A configuration value is missing, mistyped or invalid; the message names file and key."""


class SourceError(ErrwatchError):
    """A data source could not be read."""


class UsageError(ErrwatchError):
    """A command-line argument or request was refused."""
