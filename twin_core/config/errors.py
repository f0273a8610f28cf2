"""ConfigError: a bad value, named by its key path and where it came from."""

from __future__ import annotations


class ConfigError(ValueError):
    """Raised when composed config cannot be turned into settings; lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
