#!/usr/bin/env bash
# Entry point of docker/Dockerfile.triton (NGC Triton with TensorRT-LLM, plus twin_core for the CPU model).
#   (no argument)  compose: serve $TRITON_MODEL_REPOSITORY (default /data/triton_repo, i.e. serving.repository_dir)
#                  on 8000 (HTTP), 8001 (gRPC), 8002 (metrics), polling it so new versions written by
#                  `twin step deploy` (or a new engine) are loaded without a restart
#   serve          SageMaker's contract (the container is started as `<image> serve`): the NGC image's serve script
#   anything else  run it, e.g. `twin step engine serving=gpu` or bash
set -euo pipefail
if [ "${1:-}" = serve ]; then
  exec serve
fi
if [ $# -gt 0 ]; then
  exec "$@"
fi
REPO=${TRITON_MODEL_REPOSITORY:-${TWIN_DATA_DIR:-/data}/triton_repo}
until [ -d "$REPO" ]; do
  echo "triton-serve: waiting for $REPO (written by twin step deploy / twin step engine)"
  sleep 10
done
# shellcheck disable=SC2086  # TRITON_EXTRA_ARGS is a list of flags
exec tritonserver \
  --model-repository="$REPO" \
  --model-control-mode=poll --repository-poll-secs="${TRITON_POLL_SECS:-15}" \
  --strict-readiness=false --exit-on-error=false \
  --http-port=8000 --grpc-port=8001 --metrics-port=8002 \
  ${TRITON_EXTRA_ARGS:-}
