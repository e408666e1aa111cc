#!/bin/sh
# Install a built thinx binary as a systemd service.
# Usage: sudo packaging/install.sh ./thinx
set -eu
bin=${1:-./thinx}
here=$(dirname "$0")
[ -x "$bin" ] || { echo "install.sh: $bin is not an executable; build it first with 'make build'" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
id thinx >/dev/null 2>&1 || useradd --system --home-dir /var/lib/thinx --shell /usr/sbin/nologin thinx
install -d -o thinx -g thinx -m 0700 /var/lib/thinx
install -d -m 0755 /etc/thinx
[ -f /etc/thinx/thinx.env ] || install -m 0640 -g thinx "$here/thinx.env" /etc/thinx/thinx.env
install -m 0755 "$bin" /usr/local/bin/thinx
install -m 0644 "$here/thinx.service" /etc/systemd/system/thinx.service
systemctl daemon-reload
systemctl enable --now thinx
echo "thinx is running: open http://$(hostname):7442 to create the admin account"
