"""Fault injection: the rate-limited sender, the guard on application errors, its probe."""
