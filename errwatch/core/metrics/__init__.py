"""Request rates: Prometheus and direct scrapes, PromQL, rate maths, credentials, panels."""
