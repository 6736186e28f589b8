#!/usr/bin/env bash
# Every row of RESULTS.md, one after another (each line compiles its own program), then the table.
set -e
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SEEDS=${SEEDS:-5}
for job in \
    "deep-sea-treasure-v0 barrier" "deep-sea-treasure-v0 morld" \
    "minecart-v0 barrier" "minecart-v0 morld" \
    "fruit-tree-v0 barrier" "fruit-tree-v0 morld" \
    "resource-gathering-v0 barrier" "resource-gathering-v0 morld" \
    "deep-sea-treasure-v0 lagrangian" "deep-sea-treasure-v0 floor" \
    "deep-sea-treasure-concave-v0 barrier" "deep-sea-treasure-concave-v0 morld" \
    "mo-mountaincar-v0 barrier" "mo-mountaincar-v0 morld" \
    "minecart-v0 lagrangian" "resource-gathering-v0 lagrangian" "fruit-tree-v0 lagrangian"; do
  set -- $job
  $PY experiments/cmorl/run.py "$1" --algo "$2" --seeds "$SEEDS"
done
$PY experiments/cmorl/table.py > /dev/null
