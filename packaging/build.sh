#!/usr/bin/env bash
# Build the desktop bundle into dist/modelward/ (see packaging/build.py).
# PYTHON defaults to the python on PATH; it needs the project's [build] extra.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" packaging/build.py "$@"
