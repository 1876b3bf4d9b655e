"""The one exception type for unusable configuration (kept free of Hydra imports)."""

from __future__ import annotations

from collections.abc import Sequence


class ConfigError(ValueError):
    """A configuration that cannot be used. ``problems`` holds one message per bad key.

    The CLI prints every problem and exits with status 2; nothing has been written by then.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
