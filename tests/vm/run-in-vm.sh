#!/bin/bash
# run-in-vm.sh [--] COMMAND [ARGS...]
# Runs COMMAND as root in a throwaway qemu VM (Debian's kernel, busybox initramfs, pure cgroup v2
# at /sys/fs/cgroup with every controller delegated) and exits with its status. The VM's /usr
# and /etc are the host's (9p, read-only, with a tmpfs overlay), so host-built binaries and host
# tools run unchanged; the current directory (and VM_DIRS) are shared read-write at their host
# paths; /tmp is the VM's own tmpfs. No stdin, no network beyond loopback.
#
# Exit status: COMMAND's; 124 the VM ran out of time; 125 the VM failed (no image, kernel panic,
# init could not set up the root: the console's last lines are printed).
# Env: VM_IMAGE     directory with vmlinux and initrd.gz (default: what prepare.sh makes)
#      VM_DIRS      host directories to share (default: $PWD); the command starts in the first
#      VM_PASSENV   names of host variables to export inside the VM
#      VM_TIMEOUT   seconds (default 1800)   VM_MEM MiB (2048)   VM_CPUS (2)
#      VM_ACCEL     tcg (default) or kvm: /dev/kvm existing does not mean KVM works (README)
#      VM_APPEND    extra kernel arguments   VM_LOG  keep the console log there
#      VM_INIT      busybox (default: the bare init runs the command) or systemd (the
#                   distribution's systemd as PID 1 runs it from a unit)
#      VM_DEBUG=1   print the console log afterwards
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ "${1:-}" = "--" ] && shift
[ $# -ge 1 ] || { echo "usage: run-in-vm.sh COMMAND [ARGS...]" >&2; exit 125; }
IMAGE=${VM_IMAGE:-$("$HERE/prepare.sh")} || { echo "run-in-vm: no VM image: $IMAGE" >&2; exit 125; }
for f in "$IMAGE/vmlinux" "$IMAGE/initrd.gz"; do
  [ -r "$f" ] || { echo "run-in-vm: missing $f" >&2; exit 125; }
done
read -r -a DIRS <<< "${VM_DIRS:-$PWD}"
TIMEOUT=${VM_TIMEOUT:-1800}

SHARE=$(mktemp -d /tmp/hull-vm.XXXXXX)
qpid=
cleanup() { [ -n "$qpid" ] && kill "$qpid" 2>/dev/null; rm -rf "$SHARE"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
LOG=${VM_LOG:-$SHARE/console.log}
SHARES=()
: > "$SHARE/binds"
for i in "${!DIRS[@]}"; do
  d=$(cd "${DIRS[$i]}" && pwd) || exit 125
  SHARES+=(-virtfs "local,path=$d,mount_tag=dir$i,security_model=none,id=dir$i")
  echo "dir$i $d" >> "$SHARE/binds"
done
{
  for v in ${VM_PASSENV:-}; do [ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"; done
  printf 'cd %q || exit 125\n' "$(cd "${DIRS[0]}" && pwd)"
  echo 'exec > /vmshare/output.log 2>&1'
  printf 'exec'
  printf ' %q' "$@"
  echo
} > "$SHARE/cmd.sh"
: > "$SHARE/output.log"

case ${VM_ACCEL:-tcg} in
  kvm) ACCEL=(-accel kvm -cpu host) ;;
  tcg) ACCEL=(-accel tcg -cpu max) ;;
  *) echo "run-in-vm: VM_ACCEL must be tcg or kvm" >&2; exit 125 ;;
esac
case ${VM_INIT:-busybox} in
  busybox) MODE_ARG= ;;
  systemd) MODE_ARG=vmtest.mode=systemd ;;
  *) echo "run-in-vm: VM_INIT must be busybox or systemd" >&2; exit 125 ;;
esac
# -nodefaults -net none: no NIC, so no iPXE option ROM (~2 s). The ELF vmlinux boots through
# PVH without firmware decompression. isa-debug-exit carries the status if the share fails.
QEMU=(qemu-system-x86_64 "${ACCEL[@]}" -m "${VM_MEM:-2048}" -smp "${VM_CPUS:-2}"
  -nodefaults -no-user-config -nographic -no-reboot -net none -serial stdio
  -device isa-debug-exit,iobase=0xf4,iosize=0x04
  -kernel "$IMAGE/vmlinux" -initrd "$IMAGE/initrd.gz"
  -append "console=ttyS0 panic=-1 loglevel=4 ${MODE_ARG} ${VM_APPEND:-}"
  -virtfs local,path=/usr,mount_tag=hostusr,security_model=none,readonly=on,id=hostusr
  -virtfs local,path=/etc,mount_tag=hostetc,security_model=none,readonly=on,id=hostetc
  -virtfs "local,path=$SHARE,mount_tag=share,security_model=none,id=share"
  "${SHARES[@]}")

timeout -k 10 "$TIMEOUT" "${QEMU[@]}" < /dev/null > "$LOG" 2>&1 &
qpid=$!
# The command's output arrives through the share; the console (kernel messages) stays in LOG.
tail -n +1 -s 0.2 -F --pid=$qpid "$SHARE/output.log" 2>/dev/null
wait $qpid
qrc=$?
qpid=
[ -n "${VM_DEBUG:-}" ] && { echo "--- console (qemu status $qrc)"; tr -d '\r' < "$LOG"; } >&2
if [ -s "$SHARE/exitcode" ]; then
  rc=$(cat "$SHARE/exitcode")
  [ "$rc" = 125 ] && { echo "run-in-vm: the VM could not run the command; console:" >&2; tail -n 25 "$LOG" | tr -d '\r' >&2; }
  exit "$rc"
fi
[ $qrc = 124 ] && { echo "run-in-vm: the VM ran out of time (${TIMEOUT} s)" >&2; exit 124; }
# qemu exits with (status << 1) | 1 through isa-debug-exit; 0 means no status was written.
if [ $qrc -ne 0 ] && [ $((qrc & 1)) = 1 ]; then exit $((qrc >> 1)); fi
echo "run-in-vm: the VM ended without an exit status (qemu status $qrc); console:" >&2
tail -n 25 "$LOG" | tr -d '\r' >&2
exit 125
