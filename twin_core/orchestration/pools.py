"""The ``airflow.pools`` of the config as the file ``airflow pools import`` takes (creates or updates: idempotent).

python -m twin_core.orchestration.pools > var/airflow-pools.json && airflow pools import var/airflow-pools.json
"""

from __future__ import annotations

import json
from typing import Any

from twin_core.orchestration.dagspec import load_airflow_settings
from twin_core.orchestration.settings import AirflowSettings


def pools_json(settings: AirflowSettings) -> dict[str, dict[str, Any]]:
    """``{name: {slots, description, include_deferred}}`` for every declared pool."""
    return {
        name: {"slots": pool.slots, "description": pool.description, "include_deferred": False}
        for name, pool in settings.pools.items()
    }


def main() -> None:
    """Print the pools file of ``conf/airflow/<$TWIN_AIRFLOW_CONFIG or default>.yaml``."""
    print(json.dumps(pools_json(load_airflow_settings()), indent=2))


if __name__ == "__main__":
    main()
