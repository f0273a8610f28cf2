#!/usr/bin/env bash
# Entry point of docker/Dockerfile.airflow: wait for the metadata DB (and the Celery broker when used), then
# `airflow <command>`:  api-server | scheduler | dag-processor | triggerer | celery worker | anything airflow runs.
set -euo pipefail
wait_for() {  # host port what
  local tries=0
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -le 60 ] || { echo "airflow-entrypoint: $3 at $1:$2 not reachable after 120 s" >&2; exit 1; }
    sleep 2
  done
}
hostport() {  # a SQLAlchemy / Redis URL -> "host port"
  python - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1].replace("db+", "", 1))
print(u.hostname or "localhost", u.port or int(sys.argv[2]))
PY
}
if [ -n "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
  read -r host port <<<"$(hostport "$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" 5432)"
  wait_for "$host" "$port" "metadata database"
fi
if [ "${AIRFLOW__CORE__EXECUTOR:-}" = CeleryExecutor ] && [ -n "${AIRFLOW__CELERY__BROKER_URL:-}" ]; then
  read -r host port <<<"$(hostport "$AIRFLOW__CELERY__BROKER_URL" 6379)"
  wait_for "$host" "$port" "Celery broker"
fi
if [ $# -eq 0 ]; then
  set -- api-server
fi
case "$1" in
  bash|sh|twin|python|/*) exec "$@" ;;
  *) exec airflow "$@" ;;
esac
