"""errwatch: a terminal dashboard for live error supervision."""

__version__ = "0.1.0"
