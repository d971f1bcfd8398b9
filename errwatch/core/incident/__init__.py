"""The incident: alerts, timeline, recording in SQLite, the post-mortem report."""
