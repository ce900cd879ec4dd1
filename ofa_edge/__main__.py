"""``python -m ofa_edge ...`` is the same as ``ofa-edge ...``."""

from ofa_edge.cli.app import run

run()
