"""Base class for every settings schema: strict (unknown keys fail) and immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Settings(BaseModel):
    """A config group's typed schema; ``_target_`` in the group file names a subclass."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())
