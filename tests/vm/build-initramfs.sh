#!/bin/bash
# build-initramfs.sh KROOT KVER OUT.gz
# The test VM's initramfs: busybox-static, /init, and the closure (dependencies and softdeps)
# of the kernel modules the tests need, taken from KROOT (a `dpkg-deb -x` of linux-image-KVER).
# Everything else (python, pytest, hull's build) comes from the host over 9p at run time.
set -euo pipefail
KROOT=${1:?usage: build-initramfs.sh KROOT KVER OUT.gz}
KVER=${2:?kernel version}
OUT=${3:?output file}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# 9p and overlay build the VM's root; the rest is what containers and tests use. Networking
# is here so network tests can move into the VM later without rebuilding the image format.
MODS="virtio_pci 9pnet_virtio 9p overlay loop null_blk veth bridge dummy
      nf_tables nft_chain_nat nft_masq nft_ct nf_nat nf_conntrack"

MD=$KROOT/lib/modules/$KVER
[ -f "$MD/modules.dep" ] || depmod -b "$KROOT" "$KVER"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
R=$W/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,mnt,etc,lib/modules/"$KVER"}
cp /bin/busybox "$R/bin/busybox"
for a in $(/bin/busybox --list-full); do
  [ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done

# Module closure. Names in modules.dep use '_' or '-' interchangeably; softdeps (libcrc32c ->
# crc32c, without which nf_tables does not load) may name an alias rather than a module.
declare -A seen
add() {
  local m=$1 path pat=${1//[-_]/[-_]} d al
  path=$(grep -E "(^|/)$pat\.ko[^:]*:" "$MD/modules.dep" | head -1 | cut -d: -f1) || true
  if [ -z "$path" ]; then
    grep -qE "(^|/)$pat\.ko" "$MD/modules.builtin" && return
    al=$(awk -v a="$m" '$1 == "alias" && $2 == a {print $3}' "$MD/modules.alias")
    [ -n "$al" ] || { echo "build-initramfs: module $m is neither in modules.dep nor built in" >&2; exit 1; }
    for d in $al; do add "$d"; done
    return
  fi
  [ -n "${seen[$path]:-}" ] && return
  seen[$path]=1
  mkdir -p "$R/lib/modules/$KVER/$(dirname "$path")"
  cp "$MD/$path" "$R/lib/modules/$KVER/$path"
  for d in $(grep -E "^$path:" "$MD/modules.dep" | cut -d: -f2); do add "$(basename "${d%%.ko*}")"; done
  for d in $(modinfo -F softdep "$MD/$path" | tr ' ' '\n' | grep -v ':$'); do add "$d"; done
}
for m in $MODS; do add "$m"; done
cp "$MD"/modules.{builtin,builtin.modinfo,order} "$R/lib/modules/$KVER/"
depmod -b "$R" "$KVER"

install -m 755 "$HERE/init" "$R/init"
echo "root:x:0:0:root:/:/bin/sh" > "$R/etc/passwd"
echo "root:x:0:" > "$R/etc/group"
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$OUT"
echo "build-initramfs: $OUT $(du -h "$OUT" | cut -f1), ${#seen[@]} modules" >&2
