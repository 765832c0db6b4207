#!/usr/bin/env bash
# The throwaway Debian 12 root the package install test unpacks: debootstrap minbase plus what
# `apt install ./branch-edge_V.deb` would fetch (the package's Depends and Recommends, with apt's
# default of installing their recommends too), as a tarball. Network needed here, once; the test
# itself installs the package offline.
#   packaging/deb/debian-root.sh OUT.tar
set -euo pipefail
OUT="${1:?usage: $0 OUT.tar}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEPENDS="$(sed -n 's/^\(Depends\|Recommends\): //p' "$HERE/control.in" | sed -E 's/ \([^)]*\)//g; s/, */ /g' | tr '\n' ' ')"
WORK="$(mktemp -d)"
ROOT="$WORK/root"
cleanup() {
  for m in proc dev/pts dev; do umount -l "$ROOT/$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
# No service may start inside the root (policy-rc.d), now or when the test installs the package.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $DEPENDS >"$WORK/apt.log" 2>&1 \
  || { tail -20 "$WORK/apt.log" >&2; exit 1; }
chroot "$ROOT" apt-get clean
umount "$ROOT/dev" "$ROOT/proc"
printf '%s\n' "$DEPENDS" >"$ROOT/etc/branch-edge-test-root"
tar -C "$ROOT" -cf "$OUT.new" .
mv "$OUT.new" "$OUT"
