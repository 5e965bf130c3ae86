#!/usr/bin/env bash
# The GPU check (experiments/gpu_check.py): Table II's MNIST column at paper scale, fold 0, on one CUDA
# device → results/gpu.md. From the repository root:
#   bash experiments/gpu_check.sh [--toy] [--out FILE] [--output-dir DIR]
# On a machine with torch and Lightning but without Hydra, MLflow or pycryptodome (a lent GPU machine):
# first, here, `bash experiments/gpu_check.sh --fetch-wheels` puts their wheels for Python 3.12 into .whl/
# (git-ignored; about 38 MB) and `bash experiments/gpu_check.sh --pack-data` puts MNIST into .gpudata/
# (git-ignored; about 11 MB); carry both (`carry: [".whl", ".gpudata"]`): there this script installs the
# wheels into /tmp/site and unpacks MNIST into a cache of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3 )}
# What the GPU machine lacks (its image has torch, Lightning, numpy, scipy, pandas, matplotlib, pillow, ...).
WHEELS="hydra-core==1.3.8 omegaconf==2.3.1 pycryptodome==4.4.0 filelock==4.3.1
mlflow==3.17.2 mlflow-skinny==3.17.2 mlflow-tracing==3.17.2 SQLAlchemy==2.1.9 alembic==1.20.1 Mako==1.4.3
sqlparse==0.6.1 cachetools==7.3.3 GitPython==3.2.1 gitdb==4.0.12 smmap==5.0.3 opentelemetry-api==1.45.2
opentelemetry-sdk==1.45.2 opentelemetry-proto==1.45.2 opentelemetry-semantic-conventions==0.66b2
importlib_metadata==9.1.0 pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
databricks-sdk==0.162.0 google-auth==2.63.0 pyasn1==0.6.5 pyasn1_modules==0.4.2 python-dotenv==1.2.4
cryptography==50.0.2 cffi==2.1.1 pycparser==3.12 skops==0.16.0 prettytable==3.18.0 wcwidth==0.9.4
graphene==3.4.3 graphql-core==3.2.14 graphql-relay==3.2.0 Flask==3.1.3 flask-cors==6.0.5 blinker==1.9.0
itsdangerous==2.2.0 fastapi==0.165.0 starlette==1.10.0 uvicorn==0.54.0 huey==3.5.4 docker==7.2.0 gunicorn==26.2.0"
if [ "${1:-}" = "--fetch-wheels" ]; then
  mkdir -p .whl
  # shellcheck disable=SC2086
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d .whl $WHEELS
  "$PY" -m pip wheel --quiet --no-deps -w .whl antlr4-python3-runtime==4.9.3   # pure Python, published as source only
  du -sh .whl
  exit 0
fi
CACHE=${DISGUISEDNETS_CACHE:-$HOME/.cache/disguisednets}
if [ "${1:-}" = "--pack-data" ]; then
  mkdir -p .gpudata
  tar -czf .gpudata/mnist.tar.gz -C "$CACHE" mnist
  du -sh .gpudata
  exit 0
fi
if [ -f .gpudata/mnist.tar.gz ] && [ ! -d "$CACHE/mnist" ]; then
  export DISGUISEDNETS_CACHE=/tmp/disguisednets-cache
  mkdir -p "$DISGUISEDNETS_CACHE" && tar -xzf .gpudata/mnist.tar.gz -C "$DISGUISEDNETS_CACHE"
fi
if ! "$PY" -c "import hydra, mlflow, Crypto" 2>/dev/null; then
  [ -d .whl ] || { echo "gpu_check: Hydra, MLflow or pycryptodome missing and no .whl/ to install them from:" \
                        "run 'bash experiments/gpu_check.sh --fetch-wheels' where pip reaches PyPI, and carry .whl" >&2; exit 2; }
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
exec "$PY" experiments/gpu_check.py "$@"
