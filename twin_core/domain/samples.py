"""Training samples: instruction pairs (SFT) and preference triples (DPO)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin_core.domain.ids import content_hash, stable_id


class InstructionSample(BaseModel):
    """An instruction and the author's answer, traced to the document (and extract) it came from."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    instruction: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    document_id: str
    category: str
    source: str = "author"
    platform: str = ""
    extract_id: str = ""
    generator: str = "backtranslation"
    judge_score: int | None = None
    judge_reason: str = ""

    @model_validator(mode="after")
    def _derive_id(self) -> InstructionSample:
        if not self.id:
            self.id = stable_id("instruction", content_hash([self.instruction, self.answer]))
        return self


class PreferenceSample(BaseModel):
    """An instruction with a chosen (preferred) and a rejected answer."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    instruction: str = Field(min_length=1)
    chosen: str = Field(min_length=1)
    rejected: str = Field(min_length=1)
    document_id: str
    category: str
    source: str = "author"
    platform: str = ""
    extract_id: str = ""
    generator: str = "backtranslation"
    rejected_model: str = ""

    @model_validator(mode="after")
    def _derive_id(self) -> PreferenceSample:
        if not self.id:
            self.id = stable_id("preference", content_hash([self.instruction, self.chosen, self.rejected]))
        return self
