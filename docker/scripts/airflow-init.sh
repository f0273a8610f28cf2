#!/usr/bin/env bash
# One-shot Airflow initialisation (compose service airflow-init): migrate the metadata DB, write the simple auth
# manager's password file from the environment, and create the pools named in the airflow config.
set -euo pipefail
/app/docker/scripts/airflow-entrypoint.sh db migrate
if [ -n "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}" ]; then
  user=${TWIN_AIRFLOW_USER:-admin}
  password=${TWIN_AIRFLOW_PASSWORD:?set TWIN_AIRFLOW_PASSWORD (docker/.env)}
  mkdir -p "$(dirname "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")"
  python - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" "$user" "$password" <<'PY'
import json, sys
path, user, password = sys.argv[1:]
with open(path, "w") as fh:
    json.dump({user: password}, fh)
PY
  chmod 600 "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
fi
python - <<'PY' | while IFS=$'\t' read -r name slots description; do airflow pools set "$name" "$slots" "$description"; done
from twin_core.orchestration.dagspec import load_airflow_settings
for name, pool in load_airflow_settings().pools.items():
    print(f"{name}\t{pool.slots}\t{pool.description}")
PY
echo "airflow-init: database migrated, pools created"
