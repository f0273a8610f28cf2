"""Instruction (SFT) and preference (DPO) datasets from the author's own writing: ``pipeline.run_dataset``."""
