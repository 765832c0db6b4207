#!/usr/bin/env bash
# Build the staff tablet's Android APK with buildozer (packaging/tablet/buildozer.spec).
#
#   packaging/scripts/build-tablet-apk.sh            assemble the source tree, then build
#   packaging/scripts/build-tablet-apk.sh --prepare DIR   only assemble the source tree in DIR
#
# The source tree holds exactly what the tablet imports: tablet/, branch_hub/client/,
# branch_hub/vocabulary.py, branch_common/, the launcher icon and splash (tablet/data/), and a
# CJK font (WenQuanYi Micro Hei, Apache-2.0, from Debian's fonts-wqy-microhei) so Chinese never
# shows as boxes. tests/test_tablet_build.py imports every module of that tree in a virtual
# environment holding only the spec's requirements.
#
# What the build downloads (first run; cached under ~/.buildozer and packaging/tablet/.buildozer):
# buildozer itself and Cython (pip), python-for-android (git), the Android SDK command-line
# tools, platform 34 and build tools, the Android NDK, Apache Ant and Gradle with its plugins
# (Google and Maven Central), and the sources of Python and of every requirement in the spec.
# These machines cannot reach Google's download hosts, so the APK is built on a workstation
# with internet access; CI checks only the source tree and the requirements.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tablet" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FONT="${TABLET_FONT:-/usr/share/fonts/truetype/wqy/wqy-microhei.ttc}"

prepare() {
  local out="$1"
  rm -rf "$out"
  mkdir -p "$out/branch_hub"
  cp -r "$ROOT/branch_common" "$ROOT/tablet" "$out/"
  mkdir -p "$out/tablet/data/fonts"
  cp -r "$ROOT/branch_hub/client" "$out/branch_hub/"
  cp "$ROOT/branch_hub/__init__.py" "$ROOT/branch_hub/vocabulary.py" "$out/branch_hub/"
  find "$out" -name __pycache__ -type d -prune -exec rm -rf {} +
  [ -f "$FONT" ] || { echo "build-tablet-apk: no CJK font at $FONT (apt install fonts-wqy-microhei)" >&2; exit 1; }
  cp "$FONT" "$out/tablet/data/fonts/"
  printf 'from tablet.cli import main\nmain([])\n' > "$out/main.py"
}

if [ "${1:-}" = "--prepare" ]; then
  [ -n "${2:-}" ] || { echo "usage: build-tablet-apk.sh [--prepare DIR]" >&2; exit 2; }
  prepare "$2"
  exit 0
fi
prepare "$HERE/build/src"
# aiohttp's helpers (multidict, yarl, frozenlist, propcache) have pure-Python forms: build those
# rather than C extensions python-for-android has no recipes for.
export AIOHTTP_NO_EXTENSIONS=1 MULTIDICT_NO_EXTENSIONS=1 YARL_NO_EXTENSIONS=1
export FROZENLIST_NO_EXTENSIONS=1 PROPCACHE_NO_EXTENSIONS=1
cd "$HERE"
exec buildozer android release
