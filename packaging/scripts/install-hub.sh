#!/usr/bin/env bash
# Install the hub on a Debian 12 branch machine (run as root from an unpacked release checkout).
#   packaging/scripts/install-hub.sh BRANCH_DIR
# BRANCH_DIR is the output of `branch-provision init` (hub.toml, pki/, keys).
set -euo pipefail
BRANCH_DIR="${1:?usage: $0 BRANCH_DIR}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Under ProtectSystem=strict only /var/lib/branch-edge is writable: the config must point there.
grep -Eq '^data_dir *= *"/var/lib/branch-edge"' "$BRANCH_DIR/hub.toml" || {
  echo "set data_dir = \"/var/lib/branch-edge\" under [hub] in $BRANCH_DIR/hub.toml first" >&2
  exit 2
}
id branch-hub >/dev/null 2>&1 || useradd --system --home-dir /var/lib/branch-edge --shell /usr/sbin/nologin branch-hub
apt-get install -y -qq --no-install-recommends python3-venv pcscd espeak-ng
python3 -m venv /opt/branch-edge/venv
/opt/branch-edge/venv/bin/pip install -q -c "$ROOT/constraints.txt" "$ROOT[hub]"
install -d -m 0750 -o root -g branch-hub /etc/branch-edge
install -m 0640 -o root -g branch-hub "$BRANCH_DIR/hub.toml" /etc/branch-edge/hub.toml
install -d -m 0700 -o branch-hub -g branch-hub /var/lib/branch-edge
cp -a "$BRANCH_DIR/." /var/lib/branch-edge/
rm -f /var/lib/branch-edge/hub.toml
chown -R branch-hub:branch-hub /var/lib/branch-edge
install -d /opt/branch-edge/docs && cp "$ROOT"/docs/*.md /opt/branch-edge/docs/
install -m 0644 "$ROOT/packaging/systemd/branch-hub.service" /etc/systemd/system/
install -m 0644 "$ROOT/packaging/logrotate/branch-edge" /etc/logrotate.d/branch-edge
systemctl daemon-reload
systemctl enable --now branch-hub.service
systemctl --no-pager status branch-hub.service
