"""The version of tcpviz, in one place below every layer (the page and the CLI print it)."""

__version__ = "0.1.0"
