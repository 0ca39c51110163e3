#!/usr/bin/env bash
# Checks the installed systemd units offline, as a package reviewer would:
#   systemd-analyze verify              must pass, with nothing to say
#   systemd-analyze security --offline  exposure of shmd.service must be 2.5 or lower
# on the units of a DESTDIR install of BUILD_DIR, with ExecStart= resolved inside that tree.
# Usage: check_units.sh BUILD_DIR UNIT_DIR TEMP_DIR
#   UNIT_DIR  the absolute path the units install to (e.g. /usr/local/lib/systemd/system)
# Exits 77 (ctest SKIP_RETURN_CODE) when systemd-analyze is not installed.
set -euo pipefail

readonly max_exposure=2.5
build_dir=$(realpath "$1")
mkdir -p "$3"
cmake=${CMAKE:-cmake}

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not found (Debian package systemd)"
  exit 77
fi

tmp=$(mktemp -d "$(realpath "$3")/units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
DESTDIR=$root "$cmake" --install "$build_dir" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
units=$root$2

# With --root, systemd-analyze resolves ExecStart= and dependencies (sockets.target,
# sysinit.target, ...) inside ROOT: give it the host's standard units, minus any installed shmd.
host_units=/lib/systemd/system
[[ -d $host_units ]] || host_units=/usr/lib/systemd/system
mkdir -p "$root/lib/systemd/system"
find "$host_units" -maxdepth 1 -mindepth 1 ! -name 'shmd.*' -exec cp -a -t "$root/lib/systemd/system" {} +

status=0
echo "== systemd-analyze verify $units/shmd.socket $units/shmd.service"
if ! out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no --root="$root" \
             "$units/shmd.socket" "$units/shmd.service" 2>&1); then
  status=1
fi
if [[ -n $out ]]; then
  printf '%s\n' "$out"
  status=1
fi
((status == 0)) && echo "verify: OK"

echo "== systemd-analyze security --offline=true $units/shmd.service"
report=$(SYSTEMD_COLORS=0 systemd-analyze security --offline=true --root="$root" \
           --threshold=100 "$units/shmd.service" 2>&1) || true
printf '%s\n' "$report" | grep -E '^✗' || true
line=$(printf '%s\n' "$report" | grep 'Overall exposure level') || {
  printf '%s\n' "$report"
  echo "FAIL: no exposure level in the report"
  exit 1
}
echo "$line"
exposure=$(sed -E 's/.*: ([0-9]+\.[0-9]+).*/\1/' <<<"$line")
if awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e > m) }'; then
  echo "FAIL: exposure $exposure is above $max_exposure"
  status=1
else
  echo "security: exposure $exposure <= $max_exposure"
fi
exit "$status"
