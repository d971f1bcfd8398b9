"""Logs: following files like ``tail -F``, reading tracebacks, grouping them, offline scans."""
