#!/usr/bin/env bash
# Run the held-out study through `carbs tune` for one binary/variant, seeds 0-9, both modes, and score it.
#   run.sh CARBS_BINARY VARIANT ["{fragment: merged into optimizer}"] ["sequential parallel-8"] ["0 1 2 ... 9"]
# Writes runs/VARIANT/MODE/seedK.{yaml,sqlite,jsonl,log} and results/VARIANT/MODE.json.
# One `carbs tune` at a time, under nice -n 10.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CARBS=$1
VARIANT=$2
FRAGMENT=${3:-}
MODES=${4:-"sequential parallel-8"}
SEEDS=${5:-"0 1 2 3 4 5 6 7 8 9"}
python3 "$HERE/sim_trainer.py" --optimum-table "$HERE/optimum.json" >/dev/null
python3 "$HERE/sim_trainer.py" --optimum-table "$HERE/optimum_full.json" --full-range >/dev/null
for MODE in $MODES; do
    case $MODE in
        sequential) WORKERS=1 ;;
        parallel-8) WORKERS=8 ;;
        *) echo "unknown mode $MODE" >&2; exit 64 ;;
    esac
    DIR=$HERE/runs/$VARIANT/$MODE
    mkdir -p "$DIR" "$HERE/results/$VARIANT"
    FILES=()
    for SEED in $SEEDS; do
        STUDY=$DIR/seed$SEED.yaml
        python3 "$HERE/gen_study.py" "$STUDY" "$SEED" "$MODE" "$FRAGMENT"
        rm -f "$DIR/seed$SEED.sqlite" "$DIR/seed$SEED.sqlite-wal" "$DIR/seed$SEED.sqlite-shm"
        START=$(date +%s.%N)
        nice -n 10 "$CARBS" tune "$STUDY" --db "$DIR/seed$SEED.sqlite" --workers "$WORKERS" \
            >"$DIR/seed$SEED.log" 2>&1
        END=$(date +%s.%N)
        "$CARBS" export --db "$DIR/seed$SEED.sqlite" --format jsonl >"$DIR/seed$SEED.jsonl"
        echo "$VARIANT $MODE seed $SEED: $(wc -l <"$DIR/seed$SEED.jsonl") observations, $(echo "$END - $START" | bc) s"
        FILES+=("$DIR/seed$SEED.jsonl")
    done
    python3 "$HERE/score.py" run "$HERE/results/$VARIANT/$MODE.json" "${FILES[@]}"
done
