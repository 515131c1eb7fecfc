"""`python -m app.cli` runs the same command line as `between`."""

from app.cli import main

raise SystemExit(main())
