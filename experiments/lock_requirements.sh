#!/usr/bin/env bash
# Refresh requirements.lock: install the package and its test dependencies into a fresh virtual
# environment from pyproject.toml's ranges (newest versions that satisfy them), then record every
# installed distribution at its exact version. `make install` installs from the lock, so a fresh
# machine gets these versions next month too. Run: make lock   (then run the tests, and commit).
set -euo pipefail
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$(pwd)[dev]" 2> >(grep -v "^WARNING: Location" >&2)
{
  echo "# Exact versions of every dependency, for 'make install'. Made by 'make lock' (experiments/lock_requirements.sh)"
  echo "# with $("$tmp/venv/bin/python" --version) on $(uname -sm), $(date -u +%Y-%m-%d). Edit pyproject.toml's ranges, not this file."
  "$tmp/venv/bin/python" -m pip freeze --disable-pip-version-check --exclude-editable \
    | grep -v -i '^disguisednets[ =@]' \
    | sed -E 's/^([A-Za-z0-9_.-]+==[^+]+)\+[A-Za-z0-9.]+$/\1/'   # torch==2.13.0+cpu → torch==2.13.0: the same pin on a GPU machine
} > requirements.lock.tmp
mv requirements.lock.tmp requirements.lock
echo "Wrote requirements.lock ($(grep -c '==' requirements.lock) pins)."
