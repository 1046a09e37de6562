#!/bin/bash
# prepare.sh [CACHE_DIR]
# Makes the test VM's kernel and initramfs, or finds them in the cache, and prints the image
# directory (holding vmlinux and initrd.gz) on stdout.
#
# The kernel is Debian's current linux-image-<abi>-amd64, fetched with `apt-get download`
# (never installed). The image is cached under CACHE_DIR (default ~/.cache/hull-vm) keyed by
# the kernel package's version and a hash of tests/vm/*, so it is rebuilt when either changes;
# the .deb is kept per version. Exit status 77 with "SKIP: <why>" on stdout when this host
# cannot make the image (not Debian, no archive access); any other failure is an error.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${1:-${HULL_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hull-vm}}
skip() { echo "SKIP: $*"; exit 77; }

[ "$(uname -m)" = x86_64 ] || skip "the VM image is x86_64 only (host is $(uname -m))"
for tool in apt-get apt-cache dpkg-deb depmod modinfo cpio gzip xz /bin/busybox; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps installs it)"
done
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
# One preparation at a time per cache; others wait and then find it done.
exec 9> "$CACHE/.lock"
flock 9

HASH=$(cd "$HERE" && find . -type f ! -name '*.md' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
# The kernel linux-image-amd64 pulls in; its Depends names the exact version (one apt-cache
# call: each costs seconds on a busy machine).
KPKG=${HULL_VM_KPKG:-}
KPKG_VERSION=
if [ -z "$KPKG" ]; then
  read -r KPKG KPKG_VERSION < <(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
    sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -1) || true
else
  KPKG_VERSION=$(apt-cache policy "$KPKG" 2>/dev/null | awk '/Candidate:/ {print $2}')
fi
if [ -z "$KPKG" ] || [ -z "$KPKG_VERSION" ] || [ "$KPKG_VERSION" = "(none)" ]; then
  # Offline or no package lists: an image built earlier by these same scripts still does.
  old=$(ls -d "$CACHE"/img-*-"$HASH" 2>/dev/null | tail -1 || true)
  [ -n "$old" ] && [ -f "$old/ok" ] && { echo "$old"; exit 0; }
  skip "apt has no candidate for ${KPKG:-linux-image-amd64} (not Debian, or no package lists: apt-get update)"
fi
IMG=$CACHE/img-$KPKG-$KPKG_VERSION-$HASH
if [ -f "$IMG/ok" ]; then echo "$IMG"; exit 0; fi

echo "prepare: building $IMG" >&2
start=$SECONDS
DEB=$CACHE/deb/${KPKG}_${KPKG_VERSION//:/%3a}_amd64.deb
if [ ! -s "$DEB" ]; then
  mkdir -p "$CACHE/deb"
  dl=$(mktemp -d "$CACHE/deb/dl.XXXXXX")
  # apt-get download drops to the _apt user; a root-only directory only costs a warning.
  if ! out=$(cd "$dl" && apt-get download -q "$KPKG=$KPKG_VERSION" 2>&1); then
    rm -rf "$dl"
    skip "apt-get download $KPKG=$KPKG_VERSION failed: $( (echo "$out" | grep '^E:' || echo "$out") | head -1)"
  fi
  mv "$dl"/*.deb "$DEB"
  rm -rf "$dl"
  # Older kernel packages are of no further use.
  find "$CACHE/deb" -name '*.deb' ! -path "$DEB" -delete
fi

W=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$W"' EXIT
KVER=${KPKG#linux-image-}
dpkg-deb -x "$DEB" "$W/kroot"
VMLINUZ=$W/kroot/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || { echo "prepare: $DEB has no boot/vmlinuz-$KVER" >&2; exit 1; }
# Boot the ELF vmlinux through its PVH entry rather than the bzImage: it saves the guest's
# xz decompression, ~2.5 s under TCG. The payload is the first xz stream in the bzImage.
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | head -1 | cut -d: -f1)
[ -n "$off" ] || { echo "prepare: no xz payload in $VMLINUZ" >&2; exit 1; }
mkdir -p "$W/img"
# A file, not a pipe: under pipefail `tail` would die of SIGPIPE when xz stops at the stream end.
tail -c +$((off + 1)) "$VMLINUZ" > "$W/payload.xz"
xz -dc --single-stream < "$W/payload.xz" > "$W/img/vmlinux"
[ "$(head -c 4 "$W/img/vmlinux" | tail -c 3)" = ELF ] || { echo "prepare: vmlinux extraction failed" >&2; exit 1; }
depmod -b "$W/kroot" "$KVER"
"$HERE/build-initramfs.sh" "$W/kroot" "$KVER" "$W/img/initrd.gz"
echo "$KPKG $KPKG_VERSION" > "$W/img/kernel"
touch "$W/img/ok"
rm -rf "$IMG"
mv "$W/img" "$IMG"
# Images of other kernels or other versions of these scripts: keep the newest few (other
# checkouts may share the cache), drop the rest.
ls -dt "$CACHE"/img-* | tail -n +5 | while read -r d; do rm -rf "$d"; done
echo "prepare: done in $((SECONDS - start)) s" >&2
echo "$IMG"
