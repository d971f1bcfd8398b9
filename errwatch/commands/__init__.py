"""One module per subcommand; each has ``register(commands, common)`` and a ``run`` function."""
