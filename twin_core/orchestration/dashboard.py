"""What the Airflow UI plugin shows: the model registry and the evaluation leaderboard, read from their JSON files.

Both are written by other stages (training registers versions, evaluation writes the leaderboard); either may be
absent or half-written, so every reader returns rows plus plain-language problems instead of raising.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LEADERBOARD_FILE = Path("eval") / "leaderboard.json"  # under paths.reports_dir
ID_COLUMNS = ("rank", "model", "name", "version", "kind", "stage", "stages", "passed", "promoted")
HIDDEN = ("path", "cached")  # in the JSON, not worth a column
_VERSION = re.compile(r"^v(\d+)$")


@dataclass
class Table:
    """Rows for one page section, the columns to show, and what could not be read."""

    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    source: str = ""
    directions: dict[str, str] = field(default_factory=dict)  # column -> "higher" | "lower" (is better)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the plugin's API."""
        return {
            "columns": self.columns,
            "rows": self.rows,
            "problems": self.problems,
            "source": self.source,
            "directions": self.directions,
            "meta": self.meta,
        }


def _read_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: unreadable ({type(exc).__name__}: {exc})")
        return None


def _scalars(d: Any) -> dict[str, Any]:
    """Numbers, strings and booleans of a flat or nested ``metrics`` dict, keys joined with dots."""
    out: dict[str, Any] = {}
    for k, v in (d or {}).items() if isinstance(d, dict) else ():
        if isinstance(v, dict):
            out |= {f"{k}.{kk}": vv for kk, vv in _scalars(v).items()}
        elif isinstance(v, bool | int | float | str) or v is None:
            out[str(k)] = v
    return out


def _version_row(name: str, folder: Path, tags: dict[str, str], problems: list[str]) -> dict[str, Any] | None:
    manifest = _read_json(folder / "manifest.json", problems)
    if not isinstance(manifest, dict):
        return None
    datasets = manifest.get("datasets") or []
    data = ", ".join(f"{d.get('kind', '?')} {d.get('version', '?')}" for d in datasets if isinstance(d, dict)) or str(
        manifest.get("dataset", "")
    )
    metrics = {k: v for k, v in _scalars(manifest.get("metrics")).items() if isinstance(v, int | float)}
    return {
        "name": name,
        "version": folder.name,
        "stages": ", ".join(s for s, v in sorted(tags.items()) if v == folder.name),
        "created_at": manifest.get("created_at", ""),
        "method": manifest.get("method", ""),
        "recipe": manifest.get("recipe", ""),
        "datasets": data,
        "metrics": metrics,
        "path": str(folder),
    }


def read_registry(registry_dir: Path) -> Table:
    """Every registered version under ``<models_dir>/registry/<name>/v<N>/manifest.json``, newest first per name."""
    table = Table(columns=["name", "version", "stages", "created_at", "method", "recipe", "datasets", "metrics"])
    table.source = str(registry_dir)
    if not registry_dir.is_dir():
        table.problems.append(f"no model registry yet at {registry_dir} (the sft / dpo stages create it)")
        return table
    for model in sorted(p for p in registry_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        stages_file = model / "stages.json"
        tags: dict[str, str] = {}
        if stages_file.is_file():
            data = _read_json(stages_file, table.problems)
            tags = dict(data.get("stages", {})) if isinstance(data, dict) else {}
        versions = [p for p in model.iterdir() if _VERSION.match(p.name) and (p / "manifest.json").is_file()]
        for folder in sorted(versions, key=lambda p: -int(p.name[1:])):
            row = _version_row(model.name, folder, tags, table.problems)
            if row:
                table.rows.append(row)
    if not table.rows and not table.problems:
        table.problems.append(f"the model registry at {registry_dir} holds no version yet")
    return table


def leaderboard_rows(data: Any) -> list[dict[str, Any]]:
    """Rows from the leaderboard JSON: a list, or a dict with ``rows`` / ``entries`` / ``leaderboard``."""
    if isinstance(data, dict):
        data = next((data[k] for k in ("rows", "entries", "leaderboard") if isinstance(data.get(k), list)), None)
    if not isinstance(data, list):
        raise ValueError("expected a list of rows, or an object with a 'rows' list")
    rows = []
    for item in data:
        if isinstance(item, dict):
            flat = {k: v for k, v in item.items() if k != "metrics" and not isinstance(v, dict | list)}
            rows.append(flat | _scalars(item.get("metrics")))
    return rows


def read_leaderboard(path: Path) -> Table:
    """The evaluation leaderboard (``<reports_dir>/eval/leaderboard.json``): ids first, then metrics in its order."""
    table = Table(source=str(path))
    if not path.is_file():
        table.problems.append(f"no leaderboard yet at {path} (the eval stage writes it)")
        return table
    data = _read_json(path, table.problems)
    if data is None:
        return table
    try:
        table.rows = leaderboard_rows(data)
    except ValueError as exc:
        table.problems.append(f"{path}: {exc}")
        return table
    keys = [k for k in dict.fromkeys(k for row in table.rows for k in row) if k not in HIDDEN]
    board = data if isinstance(data, dict) else {}
    ordered = [c for c in board.get("columns") or [] if c in keys and c not in ID_COLUMNS]
    rest = sorted(k for k in keys if k not in ID_COLUMNS and k not in ordered)
    table.columns = [k for k in ID_COLUMNS if k in keys] + ordered + rest
    table.directions = {k: v for k, v in (board.get("directions") or {}).items() if v in ("higher", "lower")}
    table.meta = {k: v for k, v in (board.get("meta") or {}).items() if isinstance(v, str | int | float | bool)}
    if "rank" not in keys and table.rows and all("score" in r for r in table.rows):
        table.rows.sort(key=lambda r: -float(r["score"]) if isinstance(r["score"], int | float) else 0.0)
    return table
