#!/usr/bin/env bash
# Wheels for bench/gpu_check.sh: everything the lent GPU machine lacks, fetched HERE (a machine that reaches the
# package registries) and laid out in per-call carry folders, because the GPU machine reaches no registry and each
# `run` call carries at most 64 MiB (working tree included).
#
#   bash bench/gpu_wheels.sh [--dir .whl/gpu] [--carry-mib 64] [--full] [--python PYTHON]
#   bash bench/gpu_wheels.sh --files FOLDER [--room-bytes N]   # only lay out FOLDER's files (no download)
#
# The GPU image (Python 3.12, torch 2.11.0+cu130, transformers 5.17, pyarrow; no pydantic) lacks ray, deepspeed,
# vLLM, datasets and omegaconf. Fetched, for cp312 / manylinux x86_64, each with `pip download --no-deps`:
#   - ray 2.60.0 (core; the pipeline starts Ray without the dashboard), deepspeed 0.19.8 as its sdist (built there
#     with --no-build-isolation, ops JIT-compiled when used), datasets 5.2.0, omegaconf 2.4.0;
#   - vLLM 0.26.0 without its declared dependencies (flashinfer, tilelang, cutlass-dsl, ... several GB) but with
#     what `from vllm import LLM` and an in-process engine import at module level (VLLM_IMPORT_NEEDS below, found
#     by walking vLLM 0.26.0's module-level imports from vllm.entrypoints.llm, the v1 engine, the GPU worker and
#     model runner, Qwen2, FlashAttention, the sampler, cumem and pynccl, then by importing it on Python 3.12 with
#     the image's torch and transformers, which added the structured-output backends);
#   - then, until nothing is missing, every requirement of a fetched wheel that the image does not hold
#     (IMAGE_PACKAGES: the image's package list as read on 2026-11-17).
# Slimmed (unless --full): ray without ray/jars (Java workers) and the dashboard's web build; vLLM without the
# FlashAttention-2 kernels (Hopper runs FA3: vLLM picks FA2 only where FA3 is unsupported, and then fails loudly
# rather than measuring something else), the MoE kernels (dense Qwen2 only) and the Rust frontend binary. Large
# members that LZMA shrinks are recompressed (a wheel is a zip; pip extracts LZMA members through zipfile).
# Files larger than one call's room are split into parts; MANIFEST.tsv (copied into every call folder) says which
# call carries which file or part and the sha256 of every whole file. The folder is under .whl/ (git-ignored).
# Prints the sizes and the `run` calls to make (also in calls.json): each call but the last runs
# `bench/gpu_check.sh --stash-install`, the last `bench/gpu_check.sh`, and both read the same manifest there.
# --files lays out a folder's files as they are (no download, no slimming): the plumbing test uses it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/.whl/gpu
CARRY_MIB=64
FULL=0
FILES=""
ROOM_BYTES=0  # 0: the carry limit less the tree and 4 MiB
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
while [[ $# -gt 0 ]]; do
    case $1 in
        --dir) DIR=$2; shift 2 ;;
        --carry-mib) CARRY_MIB=$2; shift 2 ;;
        --full) FULL=1; shift ;;
        --python) PYTHON=$2; shift 2 ;;
        --files) FILES=$2; shift 2 ;;
        --room-bytes) ROOM_BYTES=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu_wheels.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -z $FILES ]] || FILES=$(cd "$FILES" && pwd)
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd)
cd "$ROOT"
if [[ $DIR == "$PWD"/* ]] && ! git check-ignore -q "$DIR/x"; then
    echo "gpu_wheels.sh: $DIR is not git-ignored; pick a folder under .whl/" >&2; exit 2
fi
# What travels with every call besides the carried folder: tracked and untracked-not-ignored files.
TREE_BYTES=0
if (( ROOM_BYTES == 0 )); then
    TREE_BYTES=$(git ls-files -z -co --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
fi
mkdir -p "$DIR/download"
export PIP_CONSTRAINT=  # the machine-wide torch cap does not concern a download for another machine

PIP_PLATFORM=(--python-version 3.12 --implementation cp --platform manylinux_2_35_x86_64
              --platform manylinux_2_34_x86_64 --platform manylinux_2_31_x86_64 --platform manylinux_2_28_x86_64
              --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64
              --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64)
export GPU_WHEELS_PIP_PLATFORM="${PIP_PLATFORM[*]}"
exec "$PYTHON" - "$DIR" "$CARRY_MIB" "$FULL" "$TREE_BYTES" "$FILES" "$ROOM_BYTES" <<'PY'
import hashlib, json, lzma, os, shutil, subprocess, sys, tarfile, zipfile, zlib
from pathlib import Path
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

DIR, CARRY_MIB, FULL, TREE_BYTES = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
FILES, ROOM_BYTES = Path(sys.argv[5]) if sys.argv[5] else None, int(sys.argv[6])
DOWNLOAD = DIR / "download"
ROOTS = ["ray==2.60.0", "datasets==5.2.0", "omegaconf==2.4.0"]
SDISTS = ["deepspeed==0.19.8"]
NO_DEPS = ["vllm==0.26.0"]  # its declared requirements are replaced by VLLM_IMPORT_NEEDS
VLLM_IMPORT_NEEDS = ["cachetools", "cbor2", "fastapi<0.137.0,>=0.133.0", "starlette>=1.0.1", "msgspec",
                     "openai>=2.0.0", "openai-harmony>=0.0.3", "partial-json-parser", "pybase64", "pydantic>=2.12.0",
                     "pyzmq>=25.0.0", "setproctitle", "blake3", "depyf==0.20.0",
                     # class annotations of the structured-output backends load these at import; xgrammar 0.2.7
                     # is the newest that takes vLLM's pin apache-tvm-ffi==0.1.10 (pip's own choice for vllm)
                     "llguidance<1.8.0,>=1.7.0", "xgrammar==0.2.7", "apache-tvm-ffi==0.1.10"]
IMAGE_PACKAGES = set(map(canonicalize_name, """absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal
annotated-doc anyio attrs botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy
coverage cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox
etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore
httpx humanize huggingface-hub hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin
jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite
lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict
multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro nvidia-cublas
nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand
nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink
nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum
opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks
pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil
pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn scipy
seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers statsmodels sympy
tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer
typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp""".split()))
# Members left out of a slimmed wheel (path prefixes inside the zip).
SLIM = {"ray": ["ray/jars/", "ray/dashboard/client/build/"],
        "vllm": ["vllm/vllm_flash_attn/_vllm_fa2_C.abi3.so", "vllm/_moe_C_stable_libtorch.abi3.so", "vllm/vllm-rs"]}
# Versions the image was seen with (KINDS.md's pip list): a fetched wheel's requirement on them is checked.
IMAGE_VERSIONS = {"torch": "2.11.0", "transformers": "5.17.0", "huggingface-hub": "1.33.0", "numpy": "2.5.2",
                  "safetensors": "0.8.0", "tokenizers": "0.23.2", "triton": "3.6.0", "accelerate": "1.15.0",
                  "sentencepiece": "0.2.2", "tiktoken": "0.14.0", "torchvision": "0.26.0", "torchaudio": "2.11.0"}
MARKER_ENV = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux",
              "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
              "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}


def pip_download(requirements, binary=True):
    flags = ["--only-binary=:all:", *os.environ["GPU_WHEELS_PIP_PLATFORM"].split()] if binary else ["--no-binary=:all:"]
    subprocess.run([sys.executable, "-m", "pip", "download", "-qq", "--no-deps", "--disable-pip-version-check",
                    *flags, "-d", str(DOWNLOAD), *requirements], check=True)


def project_of(path):
    if path.name.endswith(".whl"):
        return canonicalize_name(parse_wheel_filename(path.name)[0])
    return canonicalize_name(parse_sdist_filename(path.name)[0])


def metadata_lines(path):
    """A wheel's METADATA or an sdist's PKG-INFO, as lines."""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as archive:
            name = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
            return archive.read(name).decode().splitlines()
    with tarfile.open(path) as archive:
        member = next(member for member in archive.getmembers() if member.name.count("/") == 1
                      and member.name.endswith("/PKG-INFO"))
        return archive.extractfile(member).read().decode().splitlines()


def requirements_of(path):
    for line in metadata_lines(path):
        if line.startswith("Requires-Dist:"):
            requirement = Requirement(line.split(":", 1)[1].strip())
            if requirement.marker is None or requirement.marker.evaluate(MARKER_ENV):
                yield requirement


def fetch_closure():
    """Download the roots, then every requirement no fetched wheel and no image package meets, until none is left."""
    pip_download(ROOTS + NO_DEPS + VLLM_IMPORT_NEEDS)
    pip_download(SDISTS, binary=False)
    skip_requirements_of = {canonicalize_name(Requirement(spec).name) for spec in NO_DEPS}
    while True:
        files = {project_of(path): path for path in DOWNLOAD.iterdir()}
        missing = {}
        for name, path in files.items():
            if name in skip_requirements_of:
                continue
            for requirement in requirements_of(path):
                needed = canonicalize_name(requirement.name)
                if needed not in files and needed not in IMAGE_PACKAGES:
                    missing.setdefault(needed, []).append(str(requirement.specifier))
        if not missing:
            check_versions(files)
            return sorted(files.values())
        print("gpu_wheels.sh: also needed:", ", ".join(sorted(missing)))
        pip_download([name + ",".join(filter(None, specs)) for name, specs in missing.items()])


def check_versions(files):
    """Warn about a requirement that the fetched wheel or the image's known version does not meet."""
    versions = {name: (parse_wheel_filename(path.name) if path.name.endswith(".whl") else
                       parse_sdist_filename(path.name))[1] for name, path in files.items()}
    versions.update((name, Version(version)) for name, version in IMAGE_VERSIONS.items())
    for path in files.values():
        for requirement in requirements_of(path):
            have = versions.get(canonicalize_name(requirement.name))
            if have is not None and not requirement.specifier.contains(have, prereleases=True):
                print(f"gpu_wheels.sh: WARNING {path.name} needs {requirement}, there is {have}")


def shrinks_with_lzma(data):
    sample = data[len(data) // 2: len(data) // 2 + (4 << 20)]
    return len(lzma.compress(sample, preset=6)) < 0.8 * len(zlib.compress(sample, 6))


def repack(wheel, target, drop):
    """Copy of ``wheel`` without the members under ``drop`` (their RECORD rows too); members over 1 MiB that LZMA
    shrinks by a fifth are stored LZMA-compressed."""
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            if any(info.filename.startswith(prefix) for prefix in drop):
                continue
            data = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                data = "".join(row for row in data.decode().splitlines(keepends=True)
                               if not any(row.startswith(prefix) for prefix in drop)).encode()
            method = zipfile.ZIP_DEFLATED
            if info.file_size > (1 << 20) and shrinks_with_lzma(data):
                method = zipfile.ZIP_LZMA
            info.compress_type = method
            copy.writestr(info, data, compress_type=method)


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def plan_calls(files, room):
    """[[(bytes, path, None or (part index, offset))]] per call: files over ``room`` cut into parts, filled in call
    after call in the order split files, sdists, then wheels smallest first, so that the calls that only carry (and
    install what is complete) take what is slow to install, and the last call, which runs the check, little of it."""
    def order(path):
        return (path.stat().st_size <= room, path.name.endswith(".whl"), path.stat().st_size)
    calls = [[]]
    free = room
    for path in sorted(files, key=order):
        size = path.stat().st_size
        pieces = [(size, path, None)] if size <= room else [
            (min(room, size - start), path, (index, start)) for index, start in enumerate(range(0, size, room))]
        for piece in pieces:
            if piece[0] > free:
                calls.append([])
                free = room
            calls[-1].append(piece)
            free -= piece[0]
    return calls


def lay_out(files, room):
    for old in DIR.glob("call-*"):
        shutil.rmtree(old)
    rows = ["call\tfile\tpart\tbytes\tsha256_of_whole_file"]
    digests = {path: sha256(path) for path in files}
    for number, pieces in enumerate(plan_calls(files, room), start=1):
        folder = DIR / f"call-{number}"
        folder.mkdir()
        for size, path, part in pieces:
            if part is None:
                os.link(path, folder / path.name)
                rows.append(f"{number}\t{path.name}\t\t{size}\t{digests[path]}")
                continue
            index, start = part
            part_name = f"{path.name}.part-{index:02d}"
            with open(path, "rb") as handle:
                handle.seek(start)
                (folder / part_name).write_bytes(handle.read(size))
            rows.append(f"{number}\t{path.name}\t{part_name}\t{size}\t{digests[path]}")
    manifest = DIR / "MANIFEST.tsv"
    manifest.write_text("\n".join(rows) + "\n")
    for folder in DIR.glob("call-*"):
        shutil.copy(manifest, folder / "MANIFEST.tsv")
    return rows[1:]


def carried_files():
    """The downloads, slimmed unless --full, in DIR/carried (or the files of --files as they are)."""
    if FILES is not None:
        return sorted(FILES.iterdir()), sorted(FILES.iterdir())
    files = fetch_closure()
    carried = DIR / "carried"
    carried.mkdir(exist_ok=True)
    for stale in set(carried.iterdir()) - {carried / path.name for path in files}:
        stale.unlink()
    for path in files:
        target = carried / path.name
        slim = not FULL and project_of(path) in SLIM
        fresh = target.exists() and target.stat().st_mtime >= path.stat().st_mtime
        if fresh and slim != os.path.samefile(target, path):
            continue  # slimmed (or linked) by an earlier run
        target.unlink(missing_ok=True)
        if slim:
            print(f"gpu_wheels.sh: slimming {path.name} (LZMA where it helps; a few minutes)", flush=True)
            repack(path, target, SLIM[project_of(path)])
        else:
            os.link(path, target)
    return files, sorted(carried.iterdir())


def main():
    files, final = carried_files()
    room = ROOM_BYTES or (CARRY_MIB << 20) - TREE_BYTES - (4 << 20)  # 4 MiB spare: files others add meanwhile
    rows = lay_out(final, room)
    calls = sorted({int(row.split("\t")[0]) for row in rows})
    print(f"\n{'file':<64} {'downloaded MB':>13} {'carried MB':>10}")
    downloaded = {project_of(path): path.stat().st_size for path in files}
    for path in final:
        print(f"{path.name:<64} {downloaded[project_of(path)] / 1e6:>13.1f} {path.stat().st_size / 1e6:>10.1f}")
    print(f"{'total':<64} {sum(downloaded.values()) / 1e6:>13.1f} {sum(p.stat().st_size for p in final) / 1e6:>10.1f}")
    print(f"\ntree {TREE_BYTES / 2**20:.1f} MiB + carried folder <= {room / 2**20:.1f} MiB per call; "
          f"{len(calls)} calls")
    summary = {"calls": [], "tree_bytes": TREE_BYTES, "room_bytes": room}
    for number in calls:
        folder = DIR / f"call-{number}"
        carry = os.path.relpath(folder)  # from the repository's root, as `run` takes it
        size = sum(path.stat().st_size for path in folder.iterdir())
        last = number == calls[-1]
        command = "bash bench/gpu_check.sh" if last else "bash bench/gpu_check.sh --stash-install"
        summary["calls"].append({"carry": [carry], "command": command, "timeout_s": 600 if last else 300,
                                 "bytes": size, "files": sorted(path.name for path in folder.iterdir())})
        names = ", ".join(sorted(path.name for path in folder.iterdir() if path.name != "MANIFEST.tsv"))
        print(f"call {number}: run(command={command!r}, carry=[{carry!r}], timeout_s={600 if last else 300})"
              f"  # {size / 2**20:.1f} MiB: {names}")
    (DIR / "calls.json").write_text(json.dumps(summary, indent=2) + "\n")


main()
PY
