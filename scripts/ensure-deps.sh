#!/usr/bin/env bash
# Installs what virtfleet needs on a Debian 12 machine, only where it is missing:
# npm packages (npm ci) and Debian packages (PostgreSQL, Redis, libvirt, QEMU, virtinst, tini,
# docker-compose to validate the compose file, Chromium for the web console's browser tests, and
# for the peers benchmark OpenSSH's server and Ansible).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
# shellcheck source=lib.sh
. "$here/lib.sh"

need=()
have_pkg() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }
[ -n "$(vf_pg_bindir)" ] || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v libvirtd >/dev/null || need+=(libvirt-daemon-system)
command -v virsh >/dev/null || need+=(libvirt-clients)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v virt-install >/dev/null || need+=(virtinst)
command -v tini >/dev/null || need+=(tini)
command -v prlimit >/dev/null || need+=(util-linux)
have_pkg dnsmasq-base || need+=(dnsmasq-base)
have_pkg iptables || need+=(iptables)
have_pkg openvswitch-switch || need+=(openvswitch-switch)   # OVS network tests; scripts/ovs.sh starts it (userspace datapath)
# VM end-to-end tests: scripts/guest-fixtures.sh builds the tiny guest (kernel + busybox initramfs,
# syslinux boot disk, ISO images) from these; libguestfs reads guest disks.
have_pkg linux-image-amd64 || need+=(linux-image-amd64)
have_pkg syslinux-common || need+=(syslinux-common)       # mbr.bin, ldlinux.c32
have_pkg isolinux || need+=(isolinux)                     # isolinux.bin for the bootable CD
command -v syslinux >/dev/null || need+=(syslinux)
command -v mcopy >/dev/null || need+=(mtools)
command -v mkfs.vfat >/dev/null || need+=(dosfstools)
command -v sfdisk >/dev/null || need+=(fdisk)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v cpio >/dev/null || need+=(cpio)
command -v modinfo >/dev/null || need+=(kmod)
command -v xz >/dev/null || need+=(xz-utils)
command -v python3 >/dev/null || need+=(python3)
command -v xorriso >/dev/null || need+=(xorriso)          # ISO images; virt-install --location ISO reads them with it
command -v flock >/dev/null || need+=(util-linux)
command -v guestfish >/dev/null || need+=(libguestfs-tools)
# The peers benchmark (bench/peers.ts): its own sshd on loopback (never the system's; the postinst
# only makes host keys and the sshd user, and policy-rc.d below keeps it from starting the daemon),
# and Debian's Ansible with community.libvirt. `ansible` is the package holding the collections:
# ansible-core alone also gives the command, without community.libvirt.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
have_pkg ansible || need+=(ansible)
have_pkg python3-libvirt || need+=(python3-libvirt)        # what community.libvirt.virt imports
have_pkg python3-lxml || need+=(python3-lxml)              # community.libvirt's virt_net/virt_pool (and newer virt)
# e2e/deploy.e2e.spec.ts validates docker-compose.yml with `docker compose config`, or where the
# compose plugin is missing (it is not in Debian) with Debian's docker-compose 1.29: client-side,
# no Docker engine needed (--no-install-recommends keeps docker.io out).
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || need+=(docker-compose)
# The web console's end-to-end test and screenshots (e2e/web.e2e.spec.ts, npm run screenshots)
# drive Debian's Chromium with playwright-core, which never downloads a browser of its own.
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || vf_die "missing Debian packages (${need[*]}); run as root or install them"
  vf_log "installing Debian packages: ${need[*]}"
  # Maintainer scripts must not start daemons here (no systemd); virtfleet starts its own.
  prc=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; prc=1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ $prc = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# npm packages: install when node_modules is missing or older than the lockfile.
cd "$root"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  vf_log "installing npm packages (npm ci)"
  # Prisma runs on wasm engines only: point any native-engine lookup at a stub instead of a download.
  export PRISMA_SCHEMA_ENGINE_BINARY=$root/tools/no-native-engine PRISMA_QUERY_ENGINE_LIBRARY=$root/tools/no-native-engine
  export CHECKPOINT_DISABLE=1 SCARF_ANALYTICS=false
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
