#!/usr/bin/env bash
# Checks the installed systemd units offline, as a package reviewer would:
#   systemd-analyze verify              must pass, with nothing to say
#   systemd-analyze security --offline  exposure of shmd.service must be 2.5 or lower
#   ExecStart=                          names the installed shmd, which runs (--version)
# on the units of a DESTDIR install of BUILD_DIR, with ExecStart= resolved inside that tree.
# Usage: check_units.sh BUILD_DIR TEMP_DIR [PREFIX]
#   PREFIX  install with `--prefix PREFIX` instead of the configured prefix (any absolute path)
# The units are found wherever the install put them: their directory is added to systemd's unit
# search path (SYSTEMD_UNIT_PATH, systemd.unit(5)) inside the staging root, so a prefix outside
# systemd's own directories (/opt/shmd, $HOME/.local) is checked like /usr.
# Exits 77 (ctest SKIP_RETURN_CODE) when systemd-analyze is not installed.
set -euo pipefail

readonly max_exposure=2.5
build_dir=$(realpath "$1")
mkdir -p "$2"
prefix_args=()
[[ -n ${3:-} ]] && prefix_args=(--prefix "$3")
cmake=${CMAKE:-cmake}

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not found (Debian package systemd)"
  exit 77
fi

tmp=$(mktemp -d "$(realpath "$2")/units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
DESTDIR=$root "$cmake" --install "$build_dir" "${prefix_args[@]}" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; exit 1; }
if grep -q 'CMake Warning' "$tmp/install.log"; then
  cat "$tmp/install.log"
  echo "FAIL: the install warned"
  exit 1
fi
service=$(find "$root" -name shmd.service -path '*/systemd/system/*' -print -quit)
[[ -n $service ]] || { cat "$tmp/install.log"; echo "FAIL: no shmd.service installed under $root"; exit 1; }
units=$(dirname "$service")  # in the staging root
unit_dir=${units#"$root"}    # where they would be on the target system
echo "units installed in $unit_dir"

# With --root, systemd-analyze resolves ExecStart= and dependencies (sockets.target,
# sysinit.target, ...) inside ROOT: give it the host's standard units, minus any installed shmd.
host_units=/lib/systemd/system
[[ -d $host_units ]] || host_units=/usr/lib/systemd/system
mkdir -p "$root/lib/systemd/system"
find "$host_units" -maxdepth 1 -mindepth 1 ! -name 'shmd.*' -exec cp -a -t "$root/lib/systemd/system" {} +
if [[ $unit_dir == *:* ]]; then
  # SYSTEMD_UNIT_PATH is colon-separated: verify copies where systemd looks anyway.
  mkdir -p "$root/etc/systemd/system"
  cp "$units/shmd.socket" "$units/shmd.service" "$root/etc/systemd/system/"
  units=$root/etc/systemd/system
  unit_dir=/etc/systemd/system
fi
export SYSTEMD_UNIT_PATH="$unit_dir:"  # the trailing colon keeps the standard directories

status=0
echo "== ExecStart= of shmd.service"
exec_line=$(sed -n 's/^ExecStart=//p' "$units/shmd.service")
echo "ExecStart=$exec_line"
# The unit quotes a path with spaces and doubles each %; undo both to get the file's path.
if [[ $exec_line == \"* ]]; then
  exe=${exec_line#\"}
  exe=${exe%%\"*}
else
  exe=${exec_line%% *}
fi
exe=${exe//%%/%}
if [[ ! -x $root$exe ]]; then
  echo "FAIL: ExecStart= names $exe, which the install did not put there"
  status=1
elif ! version=$("$root$exe" --version 2>&1); then
  printf '%s\n' "$version"
  echo "FAIL: $exe --version failed"
  status=1
else
  echo "$exe --version: $version"
fi

echo "== systemd-analyze verify $unit_dir/shmd.socket $unit_dir/shmd.service"
if ! out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no --root="$root" \
             "$units/shmd.socket" "$units/shmd.service" 2>&1); then
  status=1
fi
if [[ -n $out ]]; then
  printf '%s\n' "$out"
  status=1
fi
((status == 0)) && echo "verify: OK"

echo "== systemd-analyze security --offline=true $unit_dir/shmd.service"
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
