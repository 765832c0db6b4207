#!/usr/bin/env bash
# Build the tablet APK with buildozer (needs the Android SDK/NDK buildozer downloads; not run in CI).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tablet" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
rm -rf "$HERE/build/src"
mkdir -p "$HERE/build/src"
cp -r "$ROOT/branch_hub" "$ROOT/branch_common" "$ROOT/tablet" "$HERE/build/src/"
printf 'from tablet.cli import main\nmain([])\n' > "$HERE/build/src/main.py"
cd "$HERE"
exec buildozer android release
