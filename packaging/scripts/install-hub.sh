#!/usr/bin/env bash
# Install the hub on a Debian 12 branch machine (run as root from an unpacked release checkout).
#   packaging/scripts/install-hub.sh BRANCH_DIR
# BRANCH_DIR is the folder `branch-provision init --dir BRANCH_DIR` made: hub.toml next to the
# hub's data folder var/ (pki/, cache/, security/). The data folder is copied to
# /var/lib/branch-edge, and hub.toml to /etc/branch-edge/hub.toml with its data_dir set to
# /var/lib/branch-edge (the only place the service may write); HQ files hub.toml names by a
# relative path are copied next to it. Nothing in BRANCH_DIR needs editing for the install.
#
# For tests only (never on a branch machine):
#   --root DIR     install under DIR as if it were /, with the paths written into hub.toml under
#                  DIR too, so the installed hub can be run in place; no user is created and no
#                  owner changed (the machine's accounts stay as they are)
#   --no-apt       install no Debian packages and no venv (use the caller's branch-hub)
#   --no-systemd   install the unit files but do not reload, enable or start systemd units
set -euo pipefail
DEST="" APT=1 SYSTEMD=1 BRANCH_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) DEST="${2:?--root needs a folder}"; shift 2 ;;
    --no-apt) APT=0; shift ;;
    --no-systemd) SYSTEMD=0; shift ;;
    -*) echo "usage: $0 [--root DIR] [--no-apt] [--no-systemd] BRANCH_DIR" >&2; exit 2 ;;
    *) BRANCH_DIR="$1"; shift ;;
  esac
done
[ -n "$BRANCH_DIR" ] || { echo "usage: $0 [--root DIR] [--no-apt] [--no-systemd] BRANCH_DIR" >&2; exit 2; }
[ -f "$BRANCH_DIR/hub.toml" ] && [ -f "$BRANCH_DIR/var/pki/ca.crt" ] || {
  echo "$0: error: $BRANCH_DIR/hub.toml or $BRANCH_DIR/var/pki/ca.crt is missing; run 'branch-provision init --dir $BRANCH_DIR' first" >&2
  exit 1
}
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ETC="$DEST/etc/branch-edge" DATA="$DEST/var/lib/branch-edge" OPT="$DEST/opt/branch-edge"
OWN=() HUB_OWN=()
SYSTEM=0
if [ -z "$DEST" ] && [ "$(id -u)" = 0 ]; then
  SYSTEM=1 OWN=(-o root -g branch-hub) HUB_OWN=(-o branch-hub -g branch-hub)
  id branch-hub >/dev/null 2>&1 || useradd --system --home-dir /var/lib/branch-edge --shell /usr/sbin/nologin branch-hub
fi
if [ "$APT" = 1 ]; then
  apt-get install -y -qq --no-install-recommends python3-venv pcscd espeak-ng
  python3 -m venv "$OPT/venv"
  "$OPT/venv/bin/pip" install -q -c "$SRC/constraints.txt" "$SRC[hub]"
fi
install -d -m 0750 "${OWN[@]}" "$ETC"
# The config as init wrote it, with data_dir pointing at the installed data folder.
sed -E "s|^data_dir *= *.*$|data_dir = \"$DATA\"|" "$BRANCH_DIR/hub.toml" >"$ETC/hub.toml.new"
grep -q "^data_dir = \"$DATA\"$" "$ETC/hub.toml.new" || { echo "$0: error: no data_dir line in $BRANCH_DIR/hub.toml" >&2; exit 1; }
install -m 0640 "${OWN[@]}" "$ETC/hub.toml.new" "$ETC/hub.toml" && rm -f "$ETC/hub.toml.new"
python3 - "$BRANCH_DIR/hub.toml" <<'EOF' | while IFS= read -r f; do install -D -m 0640 "${OWN[@]}" "$BRANCH_DIR/$f" "$ETC/$f"; done
import sys, tomllib
hq = tomllib.load(open(sys.argv[1], "rb")).get("hq", {})
for key in ("ca_file", "signing_public_key"):
    if hq.get(key) and not hq[key].startswith("/"):
        print(hq[key])
EOF
install -d -m 0700 "${HUB_OWN[@]}" "$DATA"
cp -a "$BRANCH_DIR/var/." "$DATA/"
if [ "$SYSTEM" = 1 ]; then chown -R branch-hub:branch-hub "$DATA"; fi
install -d "$OPT/docs" && cp "$SRC"/docs/*.md "$OPT/docs/"
install -D -m 0644 "$SRC/packaging/systemd/branch-hub.service" "$DEST/etc/systemd/system/branch-hub.service"
install -D -m 0644 "$SRC/packaging/logrotate/branch-edge" "$DEST/etc/logrotate.d/branch-edge"
if [ "$APT" = 1 ]; then
  "$OPT/venv/bin/branch-hub" --config "$ETC/hub.toml" --check
fi
if [ "$SYSTEMD" = 1 ]; then
  systemctl daemon-reload
  systemctl enable --now branch-hub.service
  systemctl --no-pager status branch-hub.service
fi
echo "installed: $ETC/hub.toml, data in $DATA"
