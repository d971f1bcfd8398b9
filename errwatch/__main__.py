"""`python -m errwatch`."""

from errwatch.cli import main

raise SystemExit(main())
