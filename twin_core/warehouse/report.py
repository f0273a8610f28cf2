"""What an upsert did: which ids were new, which changed, which were already there unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class UpsertReport:
    """Ids by outcome; ``new`` and ``updated`` are the records a change-data-capture step must process."""

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def n_new(self) -> int:
        return len(self.new)

    @property
    def n_updated(self) -> int:
        return len(self.updated)

    @property
    def n_unchanged(self) -> int:
        return len(self.unchanged)

    @property
    def total(self) -> int:
        return self.n_new + self.n_updated + self.n_unchanged

    @property
    def changed(self) -> list[str]:
        """Ids written this time (new or updated)."""
        return [*self.new, *self.updated]

    def counts(self) -> dict[str, int]:
        """Counts for a StepResult."""
        return {"new": self.n_new, "updated": self.n_updated, "unchanged": self.n_unchanged}

    def __add__(self, other: UpsertReport) -> UpsertReport:
        if not isinstance(other, UpsertReport):
            return NotImplemented
        return UpsertReport(
            new=[*self.new, *other.new],
            updated=[*self.updated, *other.updated],
            unchanged=[*self.unchanged, *other.unchanged],
        )

    def __str__(self) -> str:
        return f"{self.n_new} new, {self.n_updated} updated, {self.n_unchanged} unchanged"
