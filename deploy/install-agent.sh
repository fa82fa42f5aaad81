#!/usr/bin/env bash
# Installs the virtfleet agent on a KVM host as a systemd service (docs/deploy.md), from a built
# checkout (npm ci && npm run build): copies dist/ and the runtime node_modules to /opt/virtfleet,
# makes the `virtfleet` user (in the libvirt and kvm groups), the roots under /var/lib/virtfleet,
# enrolls the host with a one-time join token, and starts virtfleet-agent.service.
#   sudo deploy/install-agent.sh --api https://virtfleet.example:8080 --token vfj_… [--name kvm-07] [--labels rack=r3]
#   sudo deploy/install-agent.sh --dry-run …   # print what it would do
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
PREFIX=/opt/virtfleet; DATA=/var/lib/virtfleet; ETC=/etc/virtfleet
API=""; TOKEN=""; NAME=""; LABELS=""; DRY=0
die() { printf 'install-agent: %s\n' "$*" >&2; exit 1; }
run() { if [ "$DRY" = 1 ]; then printf '+ %s\n' "$*"; else "$@"; fi; }
while [ $# -gt 0 ]; do
  case "$1" in
    --api) API=$2; shift 2 ;;
    --token) TOKEN=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    --labels) LABELS=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ -n "$API" ] && [ -n "$TOKEN" ] || die "--api and --token are required (a join token: virtfleet hosts join-token)"
[ "$DRY" = 1 ] || [ "$(id -u)" = 0 ] || die "run as root (it makes a user, folders and a systemd unit)"
command -v node >/dev/null || die "Node.js 20 is needed (node not found)"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "Node.js 20 or newer is needed ($(node --version))"
for tool in virsh qemu-img virt-install; do command -v "$tool" >/dev/null || die "$tool not found: install libvirt-clients/libvirt-client, qemu-utils/qemu-img and virtinst/virt-install"; done
[ -f "$root/dist/apps/agent/src/main.js" ] || die "no build in $root: run npm ci && npm run build first"

getent group libvirt >/dev/null || die "no libvirt group: is libvirtd installed?"
id virtfleet >/dev/null 2>&1 || run useradd --system --home-dir "$DATA" --shell /usr/sbin/nologin --user-group virtfleet
groups=libvirt; getent group kvm >/dev/null && groups=libvirt,kvm
run usermod -a -G "$groups" virtfleet

run mkdir -p "$PREFIX" "$ETC" "$DATA/store" "$DATA/iso" "$DATA/console"
run cp -a "$root/dist" "$root/package.json" "$root/package-lock.json" "$PREFIX/"
run cp -a "$root/node_modules" "$PREFIX/"
[ "$DRY" = 1 ] || (cd "$PREFIX" && npm prune --omit=dev --no-audit --no-fund >/dev/null)
run chown -R virtfleet:virtfleet "$ETC" "$DATA"
run chmod 0750 "$ETC"
# QEMU (qemu or libvirt-qemu) opens the disks: the roots are traversable by others, their files are not listed.
run chmod 0711 "$DATA"

enroll=(node "$PREFIX/dist/apps/agent/src/main.js" enroll --api "$API" --token "$TOKEN" --config "$ETC/agent.json" --storage-root "$DATA/store")
[ -n "$NAME" ] && enroll+=(--name "$NAME")
[ -n "$LABELS" ] && enroll+=(--labels "$LABELS")
run runuser -u virtfleet -- "${enroll[@]}"
run runuser -u virtfleet -- node "$PREFIX/dist/apps/agent/src/main.js" doctor --config "$ETC/agent.json" || true

run install -m 0644 "$here/virtfleet-agent.service" /etc/systemd/system/virtfleet-agent.service
run systemctl daemon-reload
run systemctl enable --now virtfleet-agent.service
printf 'virtfleet agent installed: systemctl status virtfleet-agent; logs: journalctl -u virtfleet-agent\n'
