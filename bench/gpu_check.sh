#!/usr/bin/env bash
# The GPU check of issue 16, for a lent GPU machine (Python 3.12, torch 2.11.0+cu130, transformers 5.17, no internet):
# installs what the image lacks from the wheels bench/gpu_wheels.sh laid out, then runs, each step under `timeout`
# and within one time budget, going on after a failed step:
#   install        assemble the carried wheels (sha256-checked), pip install --no-index --no-deps, import check
#   gpu_tests      the tests marked `pytest.mark.gpu` (tests/pro_rl/training/test_engine_gpu.py, ...) but vLLM's
#   vllm_logprobs  tests/pro_rl/rollout/test_vllm_gpu.py: synced weights give vLLM the trainer's log-probs
#   throughput     python -m bench.rollout_throughput --batches 64 128 (vLLM against hf tokens/s)
#   pipeline       5 RL steps of configs/gpu/single_gpu_vllm.yaml (tiny:* models built from configs, an
#                  orchestrator saved by bench.make_orchestrator) and its stage breakdown
# Writes under $OUT: summary.json (rewritten after every step: status, seconds, limit, the log's last lines, the
# throughput rows and the stage breakdown), one NN-step.log per step and the run's metrics.jsonl (at most 8 files).
#
#   bash bench/gpu_check.sh [--steps a,b] [--budget S] [--step-timeout STEP=S] [--out DIR]
#   bash bench/gpu_check.sh --stash-install  # a call before the last: keep its parts, install what is complete
#   bash bench/gpu_check.sh --stash          # only keep the parts and say which calls' parts are there
#   bash bench/gpu_check.sh --dry-run        # on a CPU: the same plumbing, nothing installed, nothing heavy run
#
# --stash moves the carried .whl/gpu/call-*/ files into the wheelhouse (GPU_CHECK_WHEELHOUSE, /tmp/pro_rl_wheelhouse),
# which outlives calls while the machine stays warm, and says which calls' parts it holds; --stash-install then
# installs the files whose parts are all there (pip install --no-index --no-deps; sdists --no-build-isolation) and
# notes them, so the last call installs only the rest. The check stashes its own call's folder first and stops
# (exit 3) when a part is missing, before any device time is spent on steps.
# --dry-run reads the parts in place (--carried, .whl/gpu), assembles and sha256-checks them into a scratch folder,
# resolves the wheels for cp312 manylinux with `pip install --dry-run` (nothing installed), collects the GPU tests,
# runs bench.rollout_throughput --small on the CPU and loads every configs/gpu/*.yaml with the pipeline step's
# overrides offline; GPU_CHECK_DRY_<STEP> replaces a step's dry-run command (the plumbing test injects failures).
set -uo pipefail

STEPS=(install gpu_tests vllm_logprobs throughput pipeline)
declare -A LIMIT=([install]=180 [gpu_tests]=150 [vllm_logprobs]=150 [throughput]=150 [pipeline]=240)
BUDGET=560  # seconds for all steps: a `run` call may last 600
MODE=check
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/gpu_check_out}
CARRIED=$ROOT/.whl/gpu
WHEELHOUSE=${GPU_CHECK_WHEELHOUSE:-/tmp/pro_rl_wheelhouse}
PYTHON=${PYTHON:-python3}
PIPELINE_OVERRIDES=(algorithm.steps=5 run.progress=false)  # + run.output_dir, orchestrator.path under the scratch
ONLY=""
STEP=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --steps) ONLY=$2; shift 2 ;;
        --budget) BUDGET=$2; shift 2 ;;
        --step-timeout) LIMIT[${2%%=*}]=${2#*=}; shift 2 ;;
        --out) OUT=$(realpath -m "$2"); shift 2 ;;
        --carried) CARRIED=$(realpath -m "$2"); shift 2 ;;
        --wheelhouse) WHEELHOUSE=$(realpath -m "$2"); shift 2 ;;
        --stash) MODE=stash; shift ;;
        --stash-install) MODE=stash-install; shift ;;
        --dry-run) MODE=dry-run; shift ;;
        --run-step) STEP=$2; shift 2 ;;  # internal: one step, under `timeout`
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $BUDGET =~ ^[0-9]+$ ]] || { echo "gpu_check.sh: --budget takes whole seconds, not '$BUDGET'" >&2; exit 2; }
for name in "${!LIMIT[@]}"; do
    [[ " ${STEPS[*]} " == *" $name "* ]] || { echo "gpu_check.sh: no step '$name' (steps: ${STEPS[*]})" >&2; exit 2; }
    [[ ${LIMIT[$name]} =~ ^[0-9]+$ ]] || { echo "gpu_check.sh: --step-timeout $name takes whole seconds" >&2; exit 2; }
done
if [[ -n $ONLY ]]; then
    IFS=, read -ra STEPS <<< "$ONLY"
    for name in "${STEPS[@]}"; do
        [[ -v LIMIT[$name] ]] || { echo "gpu_check.sh: no step '$name' in --steps" >&2; exit 2; }
    done
fi
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
export RAY_USAGE_STATS_ENABLED=0 WANDB_MODE=disabled
SCRATCH=${GPU_CHECK_SCRATCH:-/tmp/gpu_check_scratch}
PIP_PLATFORM=(--python-version 3.12 --implementation cp --only-binary=:all: --platform manylinux_2_35_x86_64
              --platform manylinux_2_34_x86_64 --platform manylinux_2_31_x86_64 --platform manylinux_2_28_x86_64
              --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64)

wheel_parts() {  # status|complete|ready|all SOURCE_DIR...: which calls' parts are there (complete: all or fail);
                 # ready|all: assemble the manifest's files whose parts are there (all: fail unless every one is)
    "$PYTHON" - "$@" <<'PY'
import hashlib, shutil, sys
from pathlib import Path
action, sources = sys.argv[1], [Path(s) for s in sys.argv[2:]]
manifests = [s / "MANIFEST.tsv" for s in sources if (s / "MANIFEST.tsv").is_file()]
if not manifests:
    sys.exit(f"gpu_check.sh: no MANIFEST.tsv in {', '.join(map(str, sources))}: "
             "run bench/gpu_wheels.sh and carry its folders")
rows = [line.split("\t") for line in manifests[0].read_text().splitlines()[1:] if line]
def find(name):
    return next((s / name for s in sources if (s / name).is_file()), None)
held = {row[0] for row in rows if find(row[2] or row[1])}
missing = sorted({int(row[0]) for row in rows} - {int(c) for c in held})
print(f"wheelhouse holds the parts of calls {sorted(map(int, held))}; missing: {missing or 'none'}")
if action == "status":
    sys.exit(0)
if missing and action in ("complete", "all"):
    sys.exit(f"gpu_check.sh: calls {missing} were not carried to this machine (or it was given back in between): "
             "make those calls again, back to back, then this one")
if action == "complete":
    sys.exit(0)
whole = sources[0] / "whole"
whole.mkdir(parents=True, exist_ok=True)
def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()
assembled = []
for name in sorted({row[1] for row in rows}):
    pieces = sorted((row for row in rows if row[1] == name), key=lambda row: row[2])
    target = whole / name
    if not all(find(row[2] or row[1]) for row in pieces) or (target.exists() and digest(target) == pieces[0][4]):
        continue
    with open(target, "wb") as out:
        for row in pieces:
            with open(find(row[2] or row[1]), "rb") as part:
                shutil.copyfileobj(part, out)
    if digest(target) != pieces[0][4]:
        sys.exit(f"gpu_check.sh: {name}: sha256 differs from the manifest's (a part is damaged)")
    assembled.append(name)
print(f"assembled {len(assembled)} files into {whole}, sha256 checked")
PY
}

stash() {  # move the carried call folders' files into the wheelhouse
    mkdir -p "$WHEELHOUSE"
    for folder in "$CARRIED"/call-*; do
        [[ -d $folder ]] && mv -f "$folder"/* "$WHEELHOUSE"/ 2>/dev/null
    done
    wheel_parts status "$WHEELHOUSE"
}

gpu_test_files() {  # the tests marked for a GPU, the vLLM one apart
    grep -rlE "pytest\.mark\.gpu" tests --include='test_*.py' | sort | grep -v "test_vllm_gpu.py"
}

install_assembled() {  # pip install the assembled files not installed by an earlier call, and note them
    local whole="$WHEELHOUSE/whole" installed="$WHEELHOUSE/installed.txt" wheels=() sdists=() file
    touch "$installed"
    for file in "$whole"/*.whl "$whole"/*.tar.gz; do
        [[ -f $file ]] && ! grep -qxF "${file##*/}" "$installed" || continue
        [[ $file == *.whl ]] && wheels+=("$file") || sdists+=("$file")
    done
    echo "installing ${#wheels[@]} wheels and ${#sdists[@]} sdists"
    if (( ${#wheels[@]} )); then
        "$PYTHON" -m pip install -q --no-index --no-deps --no-cache-dir --find-links "$whole" "${wheels[@]}" || return
        printf '%s\n' "${wheels[@]##*/}" >> "$installed"
    fi
    for file in "${sdists[@]}"; do  # deepspeed: setup.py imports torch, so the image's own build tools
        "$PYTHON" -m pip install -q --no-index --no-deps --no-cache-dir --no-build-isolation "$file" || return
        echo "${file##*/}" >> "$installed"
    done
}

step_install() {
    if [[ $MODE == dry-run ]]; then
        wheel_parts all "$SCRATCH/wheelhouse" "$CARRIED"/call-* || return
        local whole="$SCRATCH/wheelhouse/whole"
        "$PYTHON" -m pip install --dry-run --ignore-installed --no-index --no-deps --find-links "$whole" \
            "${PIP_PLATFORM[@]}" --target "$SCRATCH/target" "$whole"/*.whl || return
        "$PYTHON" -c "
import sys, zipfile
for path in sys.argv[1:]:  # every member decompresses to its CRC (the slimmed wheels' LZMA ones too)
    with zipfile.ZipFile(path) as wheel:
        bad = wheel.testzip()
    assert bad is None, f'{path}: {bad} is damaged'
print(len(sys.argv) - 1, 'wheels read back whole')" "$whole"/*.whl || return
        for sdist in "$whole"/*.tar.gz; do
            [[ -f $sdist ]] && echo "sdist, built there with --no-build-isolation: ${sdist##*/}"
        done
        return 0
    fi
    wheel_parts all "$WHEELHOUSE" && install_assembled || return
    "$PYTHON" -c "
import datasets, deepspeed, omegaconf, ray, torch, transformers, vllm
from vllm import LLM
print({m.__name__: m.__version__ for m in (torch, transformers, vllm, ray, deepspeed, datasets, omegaconf)})"
}

step_gpu_tests() {
    local files flags=(-q -rs -p no:cacheprovider)
    files=$(gpu_test_files)
    [[ -n $files ]] || { echo "no test marked pytest.mark.gpu under tests/"; return 1; }
    [[ $MODE == dry-run ]] && flags+=(--collect-only)
    "$PYTHON" -m pytest "${flags[@]}" $files
}

step_vllm_logprobs() {
    local flags=(-q -rs -p no:cacheprovider)
    [[ $MODE == dry-run ]] && flags+=(--collect-only)
    "$PYTHON" -m pytest "${flags[@]}" tests/pro_rl/rollout/test_vllm_gpu.py
}

step_throughput() {
    local args=(--batches 64 128 --new-tokens 128 --repeats 3)
    [[ $MODE == dry-run ]] && args=(--small --batches 4 --new-tokens 4 --repeats 1)
    "$PYTHON" -m bench.rollout_throughput "${args[@]}" --output "$SCRATCH/rollout_throughput.json"
}

step_pipeline() {
    local overrides=("${PIPELINE_OVERRIDES[@]}" "run.output_dir=$SCRATCH/run" "orchestrator.path=$SCRATCH/orchestrator")
    "$PYTHON" -m bench.make_orchestrator "$SCRATCH/orchestrator" || return
    if [[ $MODE == dry-run ]]; then
        "$PYTHON" -c "
import glob, sys
from pro_rl.config.loading import load_config
for path in sorted(glob.glob('configs/gpu/*.yaml')):
    config = load_config(path, sys.argv[1:])
    print(path, 'loads offline:', config.rollout.backend, config.policy.model, config.algorithm.steps, 'steps')" \
            "${overrides[@]}"
        return
    fi
    "$PYTHON" -m pro_rl.cli run configs/gpu/single_gpu_vllm.yaml "${overrides[@]}"
    local status=$?
    "$PYTHON" -c "
import json, sys
from pathlib import Path
from pipelines.report import stage_timing
stages = stage_timing(Path(sys.argv[1]))
step = stages.get('time/step_s', 0.0)
table = {key: {'seconds': round(value, 4), 'share': round(value / step, 4) if step else None}
         for key, value in stages.items()}
Path(sys.argv[2]).write_text(json.dumps(table, indent=2))
for key, row in table.items():
    print(f'| {key} | {row[\"seconds\"]:.3f} | {100 * (row[\"share\"] or 0):.1f} % |')" \
        "$SCRATCH/run" "$SCRATCH/stage_breakdown.json" || return
    return $status
}

if [[ -n $STEP ]]; then  # one step, in its own process group under `timeout`
    override="GPU_CHECK_DRY_${STEP^^}"
    if [[ $MODE == dry-run && -n ${!override:-} ]]; then
        bash -c "${!override}"; exit
    fi
    "step_$STEP"; exit
fi

summarise() {  # STEP STATUS RC SECONDS LIMIT LOG: append the step to summary.json, refresh the results
    "$PYTHON" - "$OUT/summary.json" "$SCRATCH" "$MODE" "$BUDGET" "$@" <<'PY'
import json, platform, subprocess, sys, time
from pathlib import Path
summary_path, scratch, mode, budget, name, status, rc, seconds, limit, log = sys.argv[1:]
summary_path, scratch = Path(summary_path), Path(scratch)
if summary_path.exists():
    summary = json.loads(summary_path.read_text())
else:
    def command(*argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    summary = {"mode": mode, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "budget_s": int(budget), "python": platform.python_version(),
               "commit": command("git", "rev-parse", "--short", "HEAD") or "unknown",
               "gpu": command("nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"),
               "steps": [], "results": {}}
lines = Path(log).read_text(errors="replace").splitlines() if Path(log).exists() else []
summary["steps"].append({"name": name, "status": status, "rc": int(rc), "seconds": float(seconds),
                         "timeout_s": int(limit), "log": Path(log).name, "tail": lines[-15:]})
for result in ("rollout_throughput", "stage_breakdown"):
    if (scratch / f"{result}.json").exists():
        summary["results"][result] = json.loads((scratch / f"{result}.json").read_text())
summary_path.write_text(json.dumps(summary, indent=2) + "\n")
PY
}

if [[ $MODE == stash ]]; then
    stash; exit
fi
if [[ $MODE == stash-install ]]; then
    stash && wheel_parts ready "$WHEELHOUSE" && install_assembled; exit
fi
mkdir -p "$OUT"
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
rm -f "$OUT/summary.json" "$OUT/metrics.jsonl" "$OUT"/[0-9][0-9]-*.log  # this script's files of an earlier run
if [[ $MODE == check && " ${STEPS[*]} " == *" install "* ]]; then
    stash && wheel_parts complete "$WHEELHOUSE" || { echo "gpu_check.sh: stopping before the steps (exit 3)"; exit 3; }
fi
began=$SECONDS
failed=0
for index in "${!STEPS[@]}"; do
    name=${STEPS[$index]}
    log="$OUT/$(printf '%02d' $((index + 1)))-$name.log"
    left=$((BUDGET - (SECONDS - began)))
    limit=$(( left - 15 < LIMIT[$name] ? left - 15 : LIMIT[$name] ))  # 15: the kill 10 s after the signal, + 5
    if (( left < 25 )); then  # under 10 s for the step
        echo "== $name: skipped, ${left}s of the budget left" | tee "$log"
        summarise "$name" skipped 0 0 0 "$log"; failed=1; continue
    fi
    echo "== $name (at most ${limit}s)"
    started=$SECONDS
    flags=(--run-step "$name" --carried "$CARRIED" --wheelhouse "$WHEELHOUSE")
    [[ $MODE == dry-run ]] && flags+=(--dry-run)
    timeout --kill-after=10 "$limit" bash "$ROOT/bench/gpu_check.sh" "${flags[@]}" > "$log" 2>&1
    rc=$?
    status=ok
    (( rc == 124 || rc == 137 )) && status=timed_out
    (( rc != 0 && rc != 124 && rc != 137 )) && status=failed
    [[ $status != ok ]] && failed=1
    tail -c 8000000 "$log" > "$log.tmp" && mv "$log.tmp" "$log"  # a file comes back only under 16 MiB
    if [[ $MODE == check && $name == pipeline ]]; then  # Ray's daemons outlive a step stopped by its timeout
        "$PYTHON" -c "from ray.scripts.scripts import main; main()" stop --force > /dev/null 2>&1
    fi
    echo "   $status (rc $rc) in $((SECONDS - started))s; $(tail -n 1 "$log")"
    summarise "$name" "$status" "$rc" "$((SECONDS - started))" "$limit" "$log"
done
[[ -f $SCRATCH/run/metrics.jsonl ]] && cp "$SCRATCH/run/metrics.jsonl" "$OUT/metrics.jsonl"
"$PYTHON" -c "
import json, sys
summary = json.load(open(sys.argv[1]))
print(json.dumps({step['name']: [step['status'], step['seconds']] for step in summary['steps']}))
print(json.dumps(summary['results'], indent=1)[:4000])" "$OUT/summary.json"
exit $failed
