#!/usr/bin/env bash
# Entry point of a SageMaker training job (twin_core/cloud/sagemaker_training.py) in the CUDA twin image:
# train the rendered Axolotl recipe on every GPU of every node, merge LoRA adapters, leave the model in
# /opt/ml/model (uploaded as model.tar.gz) with the training log beside it (the step reads its metrics).
# Checkpoints go to /opt/ml/checkpoints, which SageMaker syncs with S3: a retried job resumes from them.
set -euo pipefail

CONFIG=${TWIN_AXOLOTL_CONFIG:-/opt/ml/input/data/config/axolotl.yaml}
PY=${TWIN_AXOLOTL_PYTHON:-/opt/venv-axolotl/bin/python}
MODEL_DIR=${SM_MODEL_DIR:-/opt/ml/model}
CHECKPOINTS=/opt/ml/checkpoints
LOG=/tmp/twin-train.log
export PATH="$(dirname "$PY"):$PATH" AXOLOTL_DO_NOT_TRACK=1 DO_NOT_TRACK=1 PYTHONUNBUFFERED=1

GPUS=${SM_NUM_GPUS:-$(nvidia-smi -L 2>/dev/null | wc -l)}
[ "$GPUS" -ge 1 ] || { echo "sagemaker-train: no GPU visible (SM_NUM_GPUS=${SM_NUM_GPUS:-unset})" >&2; exit 2; }
# Several nodes: SageMaker names them algo-1..N in SM_HOSTS; algo-1 is the rendezvous point.
HOSTS=$(printf '%s' "${SM_HOSTS:-[\"algo-1\"]}" | "$PY" -c 'import json,sys; print(" ".join(json.load(sys.stdin)))')
read -r -a HOST_LIST <<<"$HOSTS"
FIRST=${HOST_LIST[0]}
CURRENT=${SM_CURRENT_HOST:-$FIRST}
RANK=0
for i in "${!HOST_LIST[@]}"; do [ "${HOST_LIST[$i]}" = "$CURRENT" ] && RANK=$i; done
NODES=${#HOST_LIST[@]}

echo "sagemaker-train: $NODES node(s) x $GPUS GPU(s), this is $CURRENT (rank $RANK), config $CONFIG"
mkdir -p "$CHECKPOINTS" "$MODEL_DIR"
torchrun --nnodes "$NODES" --node_rank "$RANK" --nproc_per_node "$GPUS" \
  --master_addr "$FIRST" --master_port 29500 \
  -m axolotl.cli.train "$CONFIG" 2>&1 | tee "$LOG"

[ "$CURRENT" = "$FIRST" ] || exit 0   # one node writes the model
case "${TWIN_ADAPTER:-lora}" in
  lora|qlora)
    "$PY" -m axolotl.cli.merge_lora "$CONFIG" --lora-model-dir "$CHECKPOINTS" 2>&1 | tee -a "$LOG"
    cp -a "$CHECKPOINTS/merged/." "$MODEL_DIR/" ;;
  full)
    find "$CHECKPOINTS" -maxdepth 1 -type f ! -name '*.pt' -exec cp -a {} "$MODEL_DIR/" \; ;;
  *) echo "sagemaker-train: unknown TWIN_ADAPTER=$TWIN_ADAPTER" >&2; exit 2 ;;
esac
cp "$LOG" "$MODEL_DIR/train.log"
echo "sagemaker-train: model written to $MODEL_DIR"
