"""hedgerow: small, boring checks for rows of data.

Write down the schema you depend on, check rows at the front door, and
quarantine the ones that don't fit, with a reason a tired human can read.
"""

from hedgerow.checks import between, matches, non_empty, one_of
from hedgerow.columns import Column, Schema
from hedgerow.gate import Gate, GateReport, TooManyFailures
from hedgerow.io import read_tsv

__all__ = [
    "Column",
    "Gate",
    "GateReport",
    "Schema",
    "TooManyFailures",
    "between",
    "matches",
    "non_empty",
    "one_of",
    "read_tsv",
]

__version__ = "0.3.1"
