#!/usr/bin/env bash
# The checks that need a GPU (pytest marker `gpu`): real `device: cuda` SFT -> GRPO -> eval steps
# on the tiny model of every family in bf16, metric networks on the GPU, and vLLM roll-outs
# when vLLM is importable. Under 10 minutes on one H100.
#
#   bash scripts/gpu_checks.sh prepare   # here, with PyPI / Debian access: wheels + debs into .whl/
#   bash scripts/gpu_checks.sh           # on the GPU machine (device tool: carry [".whl"]): install, run
#
# The lent GPU machines have python3 with torch, accelerate, numpy, pyarrow, ... but no PyPI:
# what the pipeline needs beyond that image travels as wheels (pinned by constraints.txt, for
# the image's CPython 3.12) and Cairo as Debian packages unpacked under .whl/root (never /).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=.whl
PKGS=(transformers trl datasets dill multiprocess pydantic pydantic_core annotated-types typing-inspection
      huggingface_hub httpx2 httpcore2 truststore h2 hpack hyperframe sniffio
      CairoSVG cairocffi cffi pycparser tinycss2 cssselect2 defusedxml webencodings pebble duckdb tokenizers
      svgelements dask distributed tornado zict tblib locket partd importlib_metadata)
# (hf-xet is left out: nothing offline imports it, and the tree that travels is capped at 64 MiB;
#  the Dask packages let bench/scale.py measure worker scaling on the GPU machine's 16 cores)

if [ "${1:-run}" = prepare ]; then
  PY=${PY:-python3}
  mkdir -p "$WHEELS/deb"
  pins=()
  for p in "${PKGS[@]}"; do
    pins+=("$(grep -i "^${p}==" constraints.txt || echo "$p")")
  done
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$WHEELS" "${pins[@]}"
  (cd "$WHEELS/deb" && apt-get download -q libcairo2 libpixman-1-0 libxcb-render0 libxcb-shm0 libxrender1 libfontconfig1 libfreetype6 libpng16-16 libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbrotli1 >/dev/null)
  du -sh "$WHEELS"
  exit 0
fi

PY=${PY:-python3}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
# The image's python3 is itself a venv: install into a target folder put first on PYTHONPATH (a
# --system-site-packages venv made from it would not see the image's torch).
SITE=${GPU_SITE:-/tmp/rlrf-site}
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl
export PYTHONPATH="$SITE:$PWD:${PYTHONPATH:-}"
if ! ldconfig -p | grep -q libcairo.so.2; then
  mkdir -p "$WHEELS/root"
  for f in "$WHEELS"/deb/*.deb; do dpkg -x "$f" "$WHEELS/root"; done
  export LD_LIBRARY_PATH="$PWD/$WHEELS/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
"$PY" -c 'import torch, transformers, trl, cairosvg; assert torch.cuda.is_available(), "no CUDA device visible"; print(torch.__version__, torch.cuda.get_device_name(), "transformers", transformers.__version__, "trl", trl.__version__)'
timeout "${GPU_CHECKS_TIMEOUT_S:-480}" "$PY" -m pytest -q -p no:cacheprovider -m gpu -rs --durations=10 tests/train/test_gpu.py
