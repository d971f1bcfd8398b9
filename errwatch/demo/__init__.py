"""The demo API and the local stack that `errwatch demo` starts (needs the `demo` extra)."""
