"""``python -m tcpviz``: the same as the ``tcpviz`` command."""

from .cli import main

raise SystemExit(main())
