#!/usr/bin/env bash
# Build signed release bundles of the kiosk and tablet apps from this checkout.
#   packaging/scripts/build-release.sh VERSION RELEASE_KEY OUT_DIR [MIN_HUB_VERSION]
# One wheel of the project is built once (pip wheel --no-deps) and bundled for both apps;
# each bundle gets its own manifest signed with the Ed25519 release key.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 VERSION RELEASE_KEY OUT_DIR [MIN_HUB_VERSION]" >&2
  exit 2
fi
VERSION="$1"; KEY="$2"; OUT="$3"; MIN_HUB="${4:-}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT
"$PY" -m pip wheel --no-deps --quiet --wheel-dir "$WHEELS" "$ROOT"
# The app names come from the one vocabulary (branch_hub.vocabulary.AppName).
for APP in $(PYTHONPATH="$ROOT" "$PY" -c 'from branch_hub.vocabulary import AppName; print(*AppName)'); do
  ARGS=(release --app "$APP" --version "$VERSION" --signing-key "$KEY" --out "$OUT" --wheels "$WHEELS")
  [ -n "$MIN_HUB" ] && ARGS+=(--min-hub-version "$MIN_HUB")
  "$PY" -m branch_hub.provision.cli "${ARGS[@]}"
done
echo "bundles in $OUT: publish with 'branch-provision channel publish --dir BRANCH_DIR BUNDLE --channel canary'"
