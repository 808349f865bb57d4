"""`python -m igentai_tui`."""

from igentai_tui.cli import main

raise SystemExit(main())
