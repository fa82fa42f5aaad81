#!/usr/bin/env bash
# Builds the tiny-guest fixtures that the VM end-to-end tests boot (recipe: ../shared/reference/
# libvirt-host.md §4, §13 and libvirt-test-host.sh). Idempotent and cached: a second run only checks.
#
# Usage: guest-fixtures.sh [--out DIR] [--force]
#   --out DIR   output folder (default /var/lib/virtfleet/fixtures). QEMU runs as uid libvirt-qemu,
#               so DIR and every folder above it must be traversable by others (dirs 0755, files 0644).
#   --force     rebuild everything
#
# Builds into DIR:
#   vmlinuz          newest /boot/vmlinuz-* that has /lib/modules (bzImage)
#   vmlinux          the same kernel uncompressed (ELF with a PVH note: boots ~3 s faster under TCG)
#   initramfs.gz     busybox guest: prints "TINYGUEST-READY uptime=…" on ttyS0, ACPI power button ->
#                    poweroff -f, udhcpc on eth0 ("TINYGUEST-DHCP eth0 <ip>"), shell respawned on ttyS0
#   bootdisk.qcow2   self-booting syslinux disk (MBR, FAT p1 with kernel+initrd, ext4 p2): --import, no --boot
#   empty-1g.qcow2   blank 1 GiB qcow2: a disk with no OS (SeaBIOS loops, ACPI shutdown is ignored)
#   tiny-cdrom.iso   isolinux-bootable ISO9660 that boots the tiny guest: virt-install --cdrom
#   tiny-tree.iso    install tree with a .treeinfo: virt-install --location ISO --extra-args "console=ttyS0 …"
#   tiny-tree/       the same tree as a folder (hard links): virt-install --location DIR
# Prints one timing line per artefact built on stderr, and KEY=VALUE lines with the paths on stdout.
# Missing tools come from scripts/ensure-deps.sh. busybox-static is fetched with `apt-get download`
# (never installed: it conflicts with the system busybox) and kept in DIR/.cache.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

OUT=/var/lib/virtfleet/fixtures
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || vf_die "--out needs a folder"; OUT=$2; shift 2 ;;
    --out=*) OUT=${1#--out=}; shift ;;
    --force) FORCE=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) vf_die "unknown argument: $1 (usage: guest-fixtures.sh [--out DIR] [--force])" ;;
  esac
done
case "$OUT" in (/*) ;; (*) OUT=$(pwd)/$OUT ;; esac
OUT=${OUT%/}

CMDLINE="console=ttyS0 quiet panic=-1"
MARKER=TINYGUEST-READY
MBR_BIN=/usr/lib/syslinux/mbr/mbr.bin
ISOLINUX_BIN=/usr/lib/ISOLINUX/isolinux.bin
LDLINUX_C32=/usr/lib/syslinux/modules/bios/ldlinux.c32
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
umask 022

now()   { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
T_ALL=$(now)

# ---------------------------------------------------------------- tools
need_tools() {
  local missing=() t
  for t in python3:python3 cpio:cpio gzip:gzip modinfo:kmod xz:xz-utils qemu-img:qemu-utils sfdisk:fdisk \
           mkfs.vfat:dosfstools mkfs.ext4:e2fsprogs syslinux:syslinux mcopy:mtools xorriso:xorriso \
           flock:util-linux dpkg-deb:dpkg; do
    command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
  done
  [ -e "$MBR_BIN" ] && [ -e "$LDLINUX_C32" ] || missing+=(syslinux-common)
  [ -e "$ISOLINUX_BIN" ] || missing+=(isolinux)
  [ ${#missing[@]} -eq 0 ] || vf_die "missing Debian packages: ${missing[*]} (scripts/ensure-deps.sh installs them)"
}

pick_kernel() {  # newest /boot/vmlinuz-* that has its modules
  local k
  for k in $(printf '%s\n' /boot/vmlinuz-* | sort -V -r); do
    KVER=${k#/boot/vmlinuz-}
    [ -d "/lib/modules/$KVER" ] && { HOST_KERNEL=$k; return; }
  done
  vf_die "no /boot/vmlinuz-* with matching /lib/modules (install linux-image-amd64)"
}

# ---------------------------------------------------------------- busybox
is_static() {  # no pipes here: with pipefail, "ldd static-bin | grep" fails because ldd exits 1
  local out; out=$(ldd "$1" 2>&1 || true)
  case "$out" in (*"not a dynamic executable"*|*"statically linked"*) return 0;; esac; return 1
}
get_static_busybox() {
  BB=""
  if [ -x /bin/busybox ] && is_static /bin/busybox; then BB=/bin/busybox; return; fi
  local c=$OUT/.cache
  if [ ! -x "$c/bbstatic/bin/busybox" ]; then
    mkdir -p "$c"
    local t0 deb; t0=$(now)
    deb=$(printf '%s\n' /var/cache/apt/archives/busybox-static_*.deb | sort -V | tail -1)
    [ -e "$deb" ] || deb=""
    if [ -z "$deb" ]; then
      ( cd "$c" && rm -f busybox-static_*.deb && apt-get download -q busybox-static >/dev/null 2>&1 ) || true
      deb=$(printf '%s\n' "$c"/busybox-static_*.deb | tail -1)
      [ -e "$deb" ] || deb=""
    fi
    if [ -n "$deb" ]; then
      rm -rf "$c/bbstatic"; dpkg-deb -x "$deb" "$c/bbstatic" && vf_log "fixtures: busybox-static from $(basename "$deb") ($(since "$t0")s)"
    fi
  fi
  [ -x "$c/bbstatic/bin/busybox" ] && BB=$c/bbstatic/bin/busybox
  # fallback: the dynamic system busybox plus its shared libraries (copied into the initramfs)
  [ -n "$BB" ] || { command -v busybox >/dev/null || vf_die "no busybox: neither busybox-static (apt-get download) nor busybox"
                    BB=$(command -v busybox); vf_log "WARN: using the dynamic $BB (busybox-static not downloadable)"; }
}

# ---------------------------------------------------------------- builders (each writes $1 only)
module_closure() {  # module names, dependencies first
  local seen=" " order=()
  visit() {
    local m=$1 d deps
    case "$seen" in (*" $m "*) return;; esac
    seen="$seen$m "
    deps=$(modinfo -k "$KVER" -F depends "$m" 2>/dev/null || true)
    for d in ${deps//,/ }; do visit "$d"; done
    order+=("$m")
  }
  local m; for m in "$@"; do visit "$m"; done
  printf '%s\n' "${order[@]}"
}

build_initramfs() {   # $1 = output; the recipe's guest (markers must stay identical)
  local out=$1 w m f a
  w=$(mktemp -d "$WORK/initramfs.XXXXXX")
  mkdir -p "$w"/{bin,sbin,etc/acpi/PWRF,proc,sys,dev,mnt,tmp,run,lib/modules}
  cp "$BB" "$w/bin/busybox"
  if ! is_static "$BB"; then   # copy shared libs for a dynamic busybox
    for f in $(ldd "$BB" | grep -o '/[^ ]*'); do mkdir -p "$w$(dirname "$f")"; cp -L "$f" "$w$f"; done
  fi
  for a in $("$w/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$w/bin/$a"; done
  ln -s ../bin/busybox "$w/sbin/init"; ln -s bin/busybox "$w/init"
  # Debian builds these as modules: ACPI power button + evdev (needed for virsh shutdown), virtio, ext4
  : > "$w/lib/modules/order"
  for m in $(module_closure button evdev virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
                            virtio_blk failover net_failover virtio_net crc16 crc32c_generic mbcache jbd2 ext4); do
    f=$(modinfo -k "$KVER" -n "$m" 2>/dev/null) || continue
    case "$f" in (builtin*|"(builtin)"|"") continue;; esac
    case "$f" in
      (*.ko.xz)  xz -dc "$f"    > "$w/lib/modules/$m.ko" ;;
      (*.ko.zst) zstd -qdc "$f" > "$w/lib/modules/$m.ko" ;;
      (*.ko.gz)  gzip -dc "$f"  > "$w/lib/modules/$m.ko" ;;
      (*)        cp "$f" "$w/lib/modules/$m.ko" ;;
    esac
    echo "$m.ko" >> "$w/lib/modules/order"
  done
  cat > "$w/etc/inittab" <<'EOF'
::sysinit:/etc/rcS
ttyS0::respawn:/bin/sh
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
EOF
  cat > "$w/etc/rcS" <<'EOF'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null; mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null; done
hostname tinyguest; ip link set lo up
acpid -c /etc/acpi -l /tmp/acpid.log          # power button -> /etc/acpi/PWRF/00000080
for d in /dev/vda /dev/vda2 /dev/vdb; do       # first ext4 virtio disk: append a boot marker
  if [ -b $d ] && mount -t ext4 $d /mnt 2>/dev/null; then
    echo "booted $(date -u +%s)" >> /mnt/guest-boot.log; sync; echo "TINYGUEST-DISK $d"; break
  fi
done
if [ -e /sys/class/net/eth0 ]; then ip link set eth0 up; (udhcpc -i eth0 -n -q -t 5 -s /etc/udhcpc.sh >/dev/console 2>&1 &); fi
echo "TINYGUEST-READY uptime=$(cut -d' ' -f1 /proc/uptime)"
EOF
  cat > "$w/etc/udhcpc.sh" <<'EOF'
#!/bin/sh
[ "$1" = bound ] && ip addr add $ip/${mask:-24} dev $interface && echo "TINYGUEST-DHCP $interface $ip"
exit 0
EOF
  cat > "$w/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "TINYGUEST-POWERBUTTON" > /dev/console
sync; umount /mnt 2>/dev/null
poweroff -f
EOF
  chmod +x "$w/etc/rcS" "$w/etc/udhcpc.sh" "$w/etc/acpi/PWRF/00000080"
  (cd "$w" && find . | sort | cpio -o -H newc --quiet | gzip -6) > "$out"
  rm -rf "$w"
}

build_vmlinux() {   # $1 = output: the ELF inside the bzImage (XZ or gzip payload); needs CONFIG_PVH=y
  grep -q '^CONFIG_PVH=y' "/boot/config-$KVER" 2>/dev/null || vf_die "/boot/config-$KVER has no CONFIG_PVH=y: vmlinux would not boot"
  python3 - "$HOST_KERNEL" "$1" <<'EOF' || vf_die "could not extract vmlinux from $HOST_KERNEL"
import sys, lzma, zlib
src, dst = sys.argv[1], sys.argv[2]
d = open(src, 'rb').read()
for magic, fn in ((b'\xfd7zXZ\x00', lambda b: lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(b)),
                  (b'\x1f\x8b\x08', lambda b: zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(b))):
    off = d.find(magic)
    while off >= 0:
        try:
            out = fn(d[off:])
            if out[:4] == b'\x7fELF':
                open(dst, 'wb').write(out); sys.exit(0)
        except Exception:
            pass
        off = d.find(magic, off + 1)
sys.exit(1)
EOF
}

syslinux_cfg() {  # $1 kernel path, $2 initrd path (as the boot loader sees them)
  printf 'SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL %s\n  INITRD %s\n  APPEND %s\n' "$1" "$2" "$CMDLINE"
}

build_bootdisk() {    # $1 out.qcow2: MBR + syslinux (FAT p1) + ext4 p2, no loop mounts
  local w; w=$(mktemp -d "$WORK/bootdisk.XXXXXX")
  truncate -s 64M "$w/disk.raw"
  printf 'start=2048, size=63488, type=c, bootable\nstart=65536, type=83\n' | sfdisk -q "$w/disk.raw"
  mkfs.vfat -n TINYBOOT -C "$w/p1.img" 31744 >/dev/null
  syslinux --install "$w/p1.img"
  syslinux_cfg vmlinuz initrd.gz > "$w/syslinux.cfg"
  cp "$OUT/vmlinuz" "$w/vmlinuz"; cp "$OUT/initramfs.gz" "$w/initrd.gz"
  mcopy -i "$w/p1.img" "$w/vmlinuz" "$w/initrd.gz" "$w/syslinux.cfg" ::/
  truncate -s 32M "$w/p2.img"; mkfs.ext4 -q -F -L tinydata "$w/p2.img"
  dd if="$w/p1.img" of="$w/disk.raw" bs=1M seek=1 conv=notrunc status=none
  dd if="$w/p2.img" of="$w/disk.raw" bs=1M seek=32 conv=notrunc status=none
  dd if="$MBR_BIN" of="$w/disk.raw" bs=440 count=1 conv=notrunc status=none
  qemu-img convert -f raw -O qcow2 "$w/disk.raw" "$1"
  rm -rf "$w"
}

build_empty() { qemu-img create -q -f qcow2 "$1" 1G; }

build_cdrom_iso() {   # $1 out.iso: El Torito (isolinux, no emulation) booting the tiny guest
  local w; w=$(mktemp -d "$WORK/cdrom.XXXXXX")
  mkdir -p "$w/isolinux" "$w/boot"
  cp "$ISOLINUX_BIN" "$LDLINUX_C32" "$w/isolinux/"
  syslinux_cfg /boot/vmlinuz /boot/initrd.gz > "$w/isolinux/isolinux.cfg"
  cp "$OUT/vmlinuz" "$w/boot/vmlinuz"; cp "$OUT/initramfs.gz" "$w/boot/initrd.gz"
  xorriso -as mkisofs -quiet -o "$1" -V TINYGUEST_CD -R -J \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$w" 2>"$w.err" \
    || { cat "$w.err" >&2; vf_die "xorriso failed for tiny-cdrom.iso"; }
  rm -rf "$w" "$w.err"
}

treeinfo() {  # a generic productmd .treeinfo: virt-install 4.1 reads [general] arch + [images-<arch>]
  cat <<'EOF'
[header]
type = productmd.treeinfo
version = 1.2

[release]
name = VirtFleet TinyGuest
short = TinyGuest
version = 1

[tree]
arch = x86_64
platforms = x86_64

[general]
family = VirtFleet TinyGuest
name = VirtFleet TinyGuest 1
version = 1
arch = x86_64
platforms = x86_64

[images-x86_64]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img
EOF
}

fill_tree() {  # $1 folder: .treeinfo + images/pxeboot/{vmlinuz,initrd.img}; hard links where possible
  mkdir -p "$1/images/pxeboot"
  treeinfo > "$1/.treeinfo"
  # the uncompressed ELF kernel boots ~3 s faster under TCG; QEMU loads it through its PVH note
  ln "$OUT/vmlinux" "$1/images/pxeboot/vmlinuz" 2>/dev/null || cp "$OUT/vmlinux" "$1/images/pxeboot/vmlinuz"
  ln "$OUT/initramfs.gz" "$1/images/pxeboot/initrd.img" 2>/dev/null || cp "$OUT/initramfs.gz" "$1/images/pxeboot/initrd.img"
}

build_tree_dir() { fill_tree "$1"; }

build_tree_iso() {   # $1 out.iso: Rock Ridge keeps the name ".treeinfo" (virt-install lists the ISO with xorriso)
  local w; w=$(mktemp -d "$WORK/tree.XXXXXX")
  fill_tree "$w"
  xorriso -as mkisofs -quiet -o "$1" -V TINYGUEST_TREE -R -J "$w" 2>"$w.err" \
    || { cat "$w.err" >&2; vf_die "xorriso failed for tiny-tree.iso"; }
  rm -rf "$w" "$w.err"
}

# ---------------------------------------------------------------- main
need_tools
mkdir -p "$OUT"; chmod 755 "$OUT"
[ "$(dirname "$OUT")" = /var/lib/virtfleet ] && chmod 755 /var/lib/virtfleet
exec 9>"$OUT/.lock"
if ! flock -n 9; then
  vf_log "fixtures: waiting for another build in $OUT"
  flock -w 900 9 || vf_die "timed out waiting for the lock $OUT/.lock"
fi

pick_kernel
STAMP="script=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1) kernel=$KVER $(stat -c '%s:%Y' "$HOST_KERNEL")"
# A new script or kernel rebuilds everything. Old outputs stay in place until each is replaced
# (rename), so a test that is booting one of them right now keeps a complete file.
REBUILD=0
if [ "$FORCE" = 1 ] || [ "$(cat "$OUT/.stamp" 2>/dev/null || true)" != "$STAMP" ]; then
  REBUILD=1; rm -f "$OUT/.stamp"
fi
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

BUILT=0
# artefact TARGET BUILDER DEPS...: (re)build TARGET when it is missing or older than a dependency.
# Writes into $WORK and renames into place, so a reader never sees a half-written file.
artefact() {
  local target=$1 builder=$2 t0 d; shift 2
  if [ -e "$OUT/$target" ] && [ "$REBUILD" = 0 ]; then
    local stale=0
    for d in "$@"; do [ "$OUT/$d" -nt "$OUT/$target" ] && stale=1; done
    [ $stale = 0 ] && return 0
  fi
  t0=$(now)
  rm -rf "${WORK:?}/$target"
  "$builder" "$WORK/$target"
  if [ -d "$WORK/$target" ]; then chmod -R u=rwX,go=rX "$WORK/$target"; else chmod 644 "$WORK/$target"; fi
  if [ -d "$WORK/$target" ]; then rm -rf "${OUT:?}/$target"; mv "$WORK/$target" "$OUT/$target"
  else mv -f "$WORK/$target" "$OUT/$target"; fi
  BUILT=$((BUILT + 1))
  vf_log "fixtures: built $target in $(since "$t0")s ($(du -sh --apparent-size "$OUT/$target" | cut -f1))"
}

copy_kernel() { cp "$HOST_KERNEL" "$1"; }
artefact vmlinuz copy_kernel
artefact vmlinux build_vmlinux vmlinuz
if [ ! -e "$OUT/initramfs.gz" ] || [ "$REBUILD" = 1 ]; then get_static_busybox; fi
artefact initramfs.gz build_initramfs
artefact bootdisk.qcow2 build_bootdisk vmlinuz initramfs.gz
artefact empty-1g.qcow2 build_empty
artefact tiny-cdrom.iso build_cdrom_iso vmlinuz initramfs.gz
artefact tiny-tree build_tree_dir vmlinux initramfs.gz
artefact tiny-tree.iso build_tree_iso vmlinux initramfs.gz
echo "$STAMP" > "$OUT/.stamp"; chmod 644 "$OUT/.stamp"

# QEMU opens these as uid libvirt-qemu: check that it really can.
if id libvirt-qemu >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  setpriv --reuid libvirt-qemu --regid "$(id -g libvirt-qemu)" --clear-groups test -r "$OUT/tiny-tree/images/pxeboot/vmlinuz" \
    || vf_die "uid libvirt-qemu cannot read $OUT (every folder above it needs o+x)"
fi

if [ "$BUILT" = 0 ]; then vf_log "fixtures: all up to date in $OUT ($(since "$T_ALL")s, kernel $KVER)"
else vf_log "fixtures: $BUILT built in $OUT in $(since "$T_ALL")s (kernel $KVER)"; fi
cat <<EOF
FIXTURES_DIR=$OUT
FIXTURES_KERNEL_VERSION=$KVER
FIXTURES_VMLINUZ=$OUT/vmlinuz
FIXTURES_VMLINUX=$OUT/vmlinux
FIXTURES_INITRD=$OUT/initramfs.gz
FIXTURES_BOOTDISK=$OUT/bootdisk.qcow2
FIXTURES_EMPTYDISK=$OUT/empty-1g.qcow2
FIXTURES_CDROM_ISO=$OUT/tiny-cdrom.iso
FIXTURES_TREE_ISO=$OUT/tiny-tree.iso
FIXTURES_TREE_DIR=$OUT/tiny-tree
FIXTURES_CMDLINE=$CMDLINE
FIXTURES_READY_MARKER=$MARKER
EOF
