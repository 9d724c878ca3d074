"""``python -m zhenma``: the same as the ``zhenma`` command."""

from zhenma.cli import run

run()
