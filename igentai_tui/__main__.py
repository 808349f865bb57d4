"""`python -m igentai_tui`."""

try:
    from igentai_tui.cli import main
except KeyboardInterrupt:  # ^C while starting up
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("igentai: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
