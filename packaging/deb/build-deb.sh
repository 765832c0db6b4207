#!/usr/bin/env bash
# Build the hub machine's Debian package from a wheelhouse (packaging/deb/wheelhouse.sh). Offline.
#   packaging/deb/build-deb.sh [--version V] WHEELHOUSE OUT_DIR
# V defaults to the top entry of packaging/deb/changelog; another V gets its own changelog entry
# (the install test builds V+1 this way to upgrade over V). Prints the path of the .deb.
set -euo pipefail
umask 022
VERSION=""
[ "${1:-}" = --version ] && { VERSION="${2:?--version needs a value}"; shift 2; }
WHEELHOUSE="${1:?usage: $0 [--version V] WHEELHOUSE OUT_DIR}"
OUT="${2:?usage: $0 [--version V] WHEELHOUSE OUT_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ARCH="$(dpkg --print-architecture)"
TOP="$(sed -n '1s/^branch-edge (\([^)]*\)).*/\1/p' "$HERE/changelog")"
VERSION="${VERSION:-$TOP}"
# Reproducible: every file dated like the changelog's top entry.
EPOCH="${SOURCE_DATE_EPOCH:-$(date -d "$(sed -n 's/^ -- .*>  //p' "$HERE/changelog" | head -1)" +%s)}"
# Another version's entry is dated a minute after the top one (a changelog entry must be newer).
[ "$VERSION" = "$TOP" ] || EPOCH=$((EPOCH + 60))
export SOURCE_DATE_EPOCH="$EPOCH"
ls "$WHEELHOUSE"/project/branch_edge-*.whl >/dev/null 2>&1 && [ -d "$WHEELHOUSE/deps" ] || {
  echo "$0: error: no wheelhouse in $WHEELHOUSE; run ./run package" >&2
  exit 1
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PKG="$WORK/branch-edge"
DOC="$PKG/usr/share/doc/branch-edge"
install -d "$PKG/DEBIAN" "$PKG/usr/lib/branch-edge/wheels" "$PKG/usr/bin" "$DOC" \
  "$PKG/usr/lib/systemd/system" "$PKG/etc/logrotate.d"

cp "$WHEELHOUSE"/deps/*.whl "$WHEELHOUSE"/project/branch_edge-*.whl "$PKG/usr/lib/branch-edge/wheels/"
chmod 0644 "$PKG"/usr/lib/branch-edge/wheels/*.whl
(cd "$PKG/usr/lib/branch-edge/wheels" && sha256sum -- *.whl >SHA256SUMS)

install -m 0644 "$ROOT"/packaging/systemd/*.service "$ROOT"/packaging/systemd/*.timer "$PKG/usr/lib/systemd/system/"
install -D -m 0644 "$HERE/sysusers.conf" "$PKG/usr/lib/sysusers.d/branch-edge.conf"
install -D -m 0644 "$HERE/tmpfiles.conf" "$PKG/usr/lib/tmpfiles.d/branch-edge.conf"
install -m 0644 "$ROOT/packaging/logrotate/branch-edge" "$PKG/etc/logrotate.d/branch-edge"
for cmd in branch-hub branch-provision branch-sync branch-kiosk branch-display; do
  ln -s "/opt/branch-edge/venv/bin/$cmd" "$PKG/usr/bin/$cmd"
done

install -m 0644 "$HERE/copyright" "$DOC/copyright"
install -m 0644 "$ROOT/README.md" "$ROOT"/docs/*.md "$DOC/"
gzip -9n "$DOC"/*.md
{
  if [ "$VERSION" != "$TOP" ]; then
    printf 'branch-edge (%s) bookworm; urgency=medium\n\n  * Rebuild of %s as %s.\n\n' "$VERSION" "$TOP" "$VERSION"
    printf ' -- branch-edge maintainers <branch-edge@example.invalid>  %s\n\n' "$(date -R -u -d "@$EPOCH")"
  fi
  cat "$HERE/changelog"
} | gzip -9n >"$DOC/changelog.Debian.gz"

for script in postinst prerm postrm; do
  install -m 0755 "$HERE/$script" "$PKG/DEBIAN/$script"
done
echo /etc/logrotate.d/branch-edge >"$PKG/DEBIAN/conffiles"
SIZE="$(du -sk --apparent-size --exclude=DEBIAN "$PKG" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$SIZE/" \
  "$HERE/control.in" >"$PKG/DEBIAN/control"
(cd "$PKG" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  >"$PKG/DEBIAN/md5sums"
chmod 0644 "$PKG"/DEBIAN/control "$PKG"/DEBIAN/conffiles "$PKG"/DEBIAN/md5sums
find "$PKG" -exec touch -h -d "@$EPOCH" {} +

mkdir -p "$OUT"
DEB="$OUT/branch-edge_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz -z1 --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
