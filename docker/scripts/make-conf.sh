#!/usr/bin/env bash
# Build the images' Hydra config root: every group of conf/ linked, and config.yaml with an experiment chosen by
# default, so every `twin` in the container (CLI, API, Airflow tasks) composes it without an override.
#   make-conf.sh /app/conf /opt/twin/conf production      # then TWIN_CONF_DIR=/opt/twin/conf
# `experiment=...` on a command line still wins; `experiment=null` goes back to the embedded defaults.
set -euo pipefail
SRC=${1:?usage: make-conf.sh <conf dir> <output dir> [experiment]}
OUT=${2:?usage: make-conf.sh <conf dir> <output dir> [experiment]}
EXPERIMENT=${3:-production}
SRC=$(cd "$SRC" && pwd)
[ -f "$SRC/config.yaml" ] || { echo "make-conf: no config.yaml in $SRC" >&2; exit 2; }
[ -f "$SRC/experiment/$EXPERIMENT.yaml" ] || { echo "make-conf: no experiment $EXPERIMENT in $SRC/experiment" >&2; exit 2; }
grep -Eq '^[[:space:]]*- experiment: null' "$SRC/config.yaml" || {
  echo "make-conf: $SRC/config.yaml has no '- experiment: null' default to replace" >&2; exit 2; }
mkdir -p "$OUT"
for group in "$SRC"/*/; do
  ln -sfn "${group%/}" "$OUT/$(basename "$group")"
done
sed -E "s/^([[:space:]]*- experiment:) null/\1 $EXPERIMENT/" "$SRC/config.yaml" > "$OUT/config.yaml"
echo "make-conf: $OUT composes experiment=$EXPERIMENT by default"
