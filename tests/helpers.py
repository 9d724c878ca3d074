"""Small helpers shared by tests."""

import re


def exactly(message: str) -> str:
    """A ``pytest.raises(match=...)`` pattern that matches this message and nothing else."""
    return "^" + re.escape(message) + "$"
