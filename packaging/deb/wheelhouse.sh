#!/usr/bin/env bash
# The wheels the package carries: every third-party wheel the hub and the kiosk need (pinned by
# constraints.txt, rebuilt only when pyproject.toml or constraints.txt change) and the project's
# own wheel (rebuilt when a tracked or new source file changes). Building them may use the
# network; installing the package never does.
#   packaging/deb/wheelhouse.sh [--check] OUT_DIR
# --check: exit 0 if OUT_DIR is up to date with this checkout, 1 if not (builds nothing).
set -euo pipefail
CHECK=0
[ "${1:-}" = --check ] && { CHECK=1; shift; }
OUT="${1:?usage: $0 [--check] OUT_DIR}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
cd "$ROOT"
deps_want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
# Files under packaging/ and tests/ are not in the wheel; everything else may be.
src_want="$(git ls-files -co --exclude-standard -z -- . ':!tests' ':!packaging' ':!docs' ':!bench' \
  ':!.venv' ':!.cache' ':!dist' | sort -z | while IFS= read -r -d '' f; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then sha256sum -- "$f"; fi
  done | sha256sum | cut -d' ' -f1)"
fresh() { [ -f "$OUT/$1.stamp" ] && [ "$(cat "$OUT/$1.stamp")" = "$2" ]; }
if [ "$CHECK" = 1 ]; then
  fresh deps "$deps_want" && fresh project "$src_want"
  exit
fi
mkdir -p "$OUT"
if ! fresh deps "$deps_want"; then
  rm -rf "$OUT/deps" "$OUT/deps.stamp"
  "$PY" -m pip wheel -q --disable-pip-version-check -c constraints.txt -w "$OUT/deps" ".[hub,kiosk]"
  rm -f "$OUT"/deps/branch_edge-*.whl
  echo "$deps_want" >"$OUT/deps.stamp"
fi
if ! fresh project "$src_want"; then
  rm -rf "$OUT/project" "$OUT/project.stamp"
  "$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$OUT/project" .
  echo "$src_want" >"$OUT/project.stamp"
fi
