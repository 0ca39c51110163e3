# The Debian packages under a real systemd: sourced by scripts/system-test --packages, inside its
# private mount namespace, with the container booted. Uses its helpers and variables (c, as_nobody,
# ok, bad, die, expect_output, wait_until, snapshot, check_kept, root, work, packages,
# upgrade_packages) and sets `expected` as the rest of the test does.

# Where the .debs and the consumer's sources sit inside the container. /var/tmp, not /tmp: the
# container may mount a tmpfs of its own on /tmp.
container_debs=/var/tmp/shmd-packages
container_consumer=/var/tmp/shmd-consumer

# Development packages that building shmd needs and a libshmclient-dev user must not: the overlay
# holds the host's, so they are removed in the container before the packages go in.
build_only_dev_packages=(libasio-dev libcli11-dev libspdlog-dev libfmt-dev libsystemd-dev libgtest-dev
                         libgmock-dev googletest pybind11-dev libboost-dev)

# The container's changes so far, one path per line, relative to /: the upper layer of the overlay.
changed_paths() { find "$work/upper" -mindepth 1 -printf '%P\n' | sort; }

apt_in_container() {
  local log=$work/apt.log
  # No network in the container: every dependency must already be installed (the host's /).
  if c env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::http::Timeout=1 -o Acquire::Retries=0 \
       "$@" >"$log" 2>&1; then
    return 0
  fi
  tail -n 30 "$log" >&2
  return 1
}

prepare_for_packages() {
  mkdir -p "$root$container_debs/install" "$root$container_debs/upgrade"
  cp "$packages"/*.deb "$root$container_debs/install/"
  cp "$upgrade_packages"/*.deb "$root$container_debs/upgrade/"
  local installed=()
  for p in "${build_only_dev_packages[@]}"; do
    c dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' && installed+=("$p")
  done
  if ((${#installed[@]})); then
    apt_in_container remove -y "${installed[@]}" || die "could not remove ${installed[*]} in the container"
  fi
  # Each package's own libshmclient files must not be there already (a host with them installed).
  c dpkg-query -W shmd libshmclient0 libshmclient-dev python3-shmd >/dev/null 2>&1 &&
    apt_in_container purge -y shmd libshmclient0 libshmclient-dev python3-shmd
  # Docker's Debian images ship a policy-rc.d that forbids every maintainer script to start a
  # service (exit 101), which the overlay inherits from the host; a real system has none.
  if [[ -e $root/usr/sbin/policy-rc.d ]]; then
    rm "$root/usr/sbin/policy-rc.d"
    log "removed the host image's /usr/sbin/policy-rc.d in the container: it forbids starting services"
  fi
  changed_paths >"$work/before-install.list"
}

install_packages() {
  local debs
  debs=$(cd "$root$container_debs/install" && ls ./*.deb | sed "s|^\./|$container_debs/install/|")
  # shellcheck disable=SC2086 # one word per file
  if apt_in_container install -y --no-install-recommends $debs; then
    ok "apt-get install ./*.deb installs $(echo $debs | wc -w) packages offline, their dependencies already there"
  else
    die "apt-get install of the packages failed"
  fi
  expect_output "the postinst created the system user shmd" "shmd" c id -un shmd
  expect_output "shmd.socket is enabled on install" enabled c systemctl is-enabled shmd.socket
  expect_output "shmd.service is not enabled itself, only through Also=shmd.socket (the socket starts it)" indirect \
    c systemctl is-enabled shmd.service
}

check_python_package() {
  expect_output "/usr/bin/python3 imports shmd from the package" /usr/lib/python3/dist-packages/shmd/__init__.py \
    c /usr/bin/python3 -c 'import shmd; print(shmd.__file__)'
  expect_output "/usr/bin/python3, as root, creates a Value through the system daemon" 2.678 \
    c /usr/bin/python3 -c 'import shmd; v = shmd.Client().create_value("py.pkg", "d", 2.678, mode=0o644); print(v.value)'
  expect_output "... that shmctl reads" 2.678 c shmctl get py.pkg
  expect_output "/usr/bin/python3, as uid 65534, reads it" 2.678 \
    as_nobody /usr/bin/python3 -c 'import shmd; print(shmd.Client().attach_value("py.pkg", read_only=True).value)'
  c shmctl rm py.pkg
}

check_dev_package_consumers() {
  local gone=()
  for p in "${build_only_dev_packages[@]}"; do
    c dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' && gone+=("$p")
  done
  ((${#gone[@]} == 0)) && ok "none of shmd's build-only -dev packages is installed" ||
    bad "none of shmd's build-only -dev packages is installed" "${gone[*]}"
  mkdir -p "$root$container_consumer"
  cp "$repo/tests/install/consumer/CMakeLists.txt" "$repo/tests/install/consumer/main.cpp" "$root$container_consumer/"
  local build=$container_consumer/build log=$work/consumer.log
  if c cmake -S "$container_consumer" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$log" 2>&1 &&
     c cmake --build "$build" >>"$log" 2>&1; then
    ok "an out-of-tree program builds with find_package(shmclient), shared and static"
  else
    bad "an out-of-tree program builds with find_package(shmclient), shared and static" "$(tail -n 20 "$log")"
  fi
  if c sh -c "g++ -std=c++20 -o $build/consumer_pkgconfig $container_consumer/main.cpp \$(pkg-config --cflags --libs shmclient)" \
       >"$log" 2>&1; then
    ok "... and with g++ \$(pkg-config --cflags --libs shmclient)"
  else
    bad "... and with g++ \$(pkg-config --cflags --libs shmclient)" "$(tail -n 20 "$log")"
  fi
  # /lib is /usr/lib on Debian 12 (merged /usr), and ld.so.cache names it either way.
  loads_system_library() { c ldd "$build/consumer_shared" | grep -c '=> \(/usr\)\?/lib/[^ ]*/libshmclient\.so\.0 '; }
  expect_output "the shared consumer loads the packaged libshmclient.so.0" 1 loads_system_library
  expect_output "the find_package shared consumer runs against the system daemon, as uid 65534" \
    "cmake-shared value=42 sum=10 segments=2" as_nobody "$build/consumer_shared" /run/shmd/shmd.sock cmake-shared
  expect_output "the find_package static consumer runs, as root" \
    "cmake-static value=42 sum=10 segments=2" c "$build/consumer_static" /run/shmd/shmd.sock cmake-static
  expect_output "the pkg-config consumer runs, as uid 65534" \
    "pkg-config value=42 sum=10 segments=2" as_nobody "$build/consumer_pkgconfig" /run/shmd/shmd.sock pkg-config
  rm -rf "$root$container_consumer"
}

check_upgrade() {
  local version_before new_version pid_before socket_since debs
  version_before=$(c dpkg-query -W -f '${Version}' shmd)
  new_version=$(dpkg-deb -f "$(ls "$root$container_debs"/upgrade/shmd_*.deb)" Version)
  dpkg --compare-versions "$new_version" gt "$version_before" ||
    die "the upgrade packages ($new_version) are not newer than the installed ones ($version_before)"
  service_active || die "shmd.service is not running before the upgrade"
  expected=$(snapshot)
  pid_before=$(c systemctl show -P MainPID shmd.service)
  socket_since=$(c systemctl show -P ActiveEnterTimestampMonotonic shmd.socket)
  debs=$(cd "$root$container_debs/upgrade" && ls ./*.deb | sed "s|^\./|$container_debs/upgrade/|")
  # shellcheck disable=SC2086
  apt_in_container install -y --no-install-recommends $debs &&
    ok "apt-get install upgrades $version_before to $new_version" || bad "apt-get install upgrades to $new_version"
  expect_output "dpkg has shmd $new_version" "$new_version" c dpkg-query -W -f '${Version}' shmd
  local pid_after
  pid_after=$(c systemctl show -P MainPID shmd.service)
  [[ $pid_after != 0 && $pid_after != "$pid_before" ]] && service_active &&
    ok "the upgrade restarted shmd.service onto the new binary (pid $pid_before -> $pid_after)" ||
    bad "the upgrade restarted shmd.service" "MainPID $pid_before -> $pid_after, $(c systemctl is-active shmd.service)"
  expect_output "the upgrade left shmd.socket running, unrestarted" "$socket_since" \
    c systemctl show -P ActiveEnterTimestampMonotonic shmd.socket
  check_kept "after the upgrade"
}

check_remove_and_purge() {
  local all=(shmd libshmclient0 libshmclient-dev python3-shmd)
  apt_in_container remove -y "${all[@]}" && ok "apt-get remove removes the packages" || bad "apt-get remove removes the packages"
  expect_output "after remove, shmd.socket is stopped" inactive c systemctl is-active shmd.socket
  expect_output "after remove, shmd.service is stopped" inactive c systemctl is-active shmd.service
  expect_output "after remove, no socket file is left" absent c sh -c 'test -e /run/shmd/shmd.sock && echo present || echo absent'
  local leftovers
  leftovers=$(c sh -c 'ls -d /usr/bin/shmd /usr/bin/shmctl /usr/bin/shm-lab /lib/systemd/system/shmd.* \
    /usr/lib/sysusers.d/shmd.conf /usr/include/shm /usr/lib/*/libshmclient* /usr/lib/*/cmake/shmclient \
    /usr/lib/python3/dist-packages/shmd 2>/dev/null' || true)
  [[ -z $leftovers ]] && ok "after remove, no program, unit, library, header or Python file is left" ||
    bad "after remove, no program, unit, library, header or Python file is left" "$leftovers"
  # docs/install.md: what remove keeps.
  expect_output "after remove, the shmd user stays (docs/install.md)" shmd c id -un shmd
  expect_output "after remove, the socket's enablement stays, as configuration (docs/install.md)" link \
    c sh -c 'test -L /etc/systemd/system/sockets.target.wants/shmd.socket && echo link'

  # Those without configuration (all but shmd, whose units' enablement is) are gone already, and
  # apt no longer knows them.
  local configured
  # dpkg-query fails for the packages it no longer knows; the others are still listed.
  configured=$({ c dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n' "${all[@]}" 2>/dev/null || true; } |
               awk '$2 == "rc" { print $1 }')
  expect_output "after remove, only shmd keeps configuration (dpkg state rc)" shmd echo $configured
  # shellcheck disable=SC2086
  apt_in_container purge -y $configured && ok "apt-get purge $configured" || bad "apt-get purge $configured"
  expect_output "after purge, dpkg knows none of them" "" \
    c sh -c 'dpkg-query -W -f "\${Package} \${Status}\n" shmd libshmclient0 libshmclient-dev python3-shmd 2>/dev/null'
  expect_output "after purge, the socket's enablement is gone" absent \
    c sh -c 'test -e /etc/systemd/system/sockets.target.wants/shmd.socket || test -L /etc/systemd/system/sockets.target.wants/shmd.socket && echo present || echo absent'
  expect_output "after purge, the shmd user stays (docs/install.md)" shmd c id -un shmd

  # Everything the container changed since just before the install, less what may change: the
  # files of the shmd user (it stays), dpkg's and apt's own records, caches and logs, ldconfig's
  # cache (the trigger rewrote it), and the journal. Directories and files of the host that were
  # only copied up unchanged are not changes.
  local path left=()
  while IFS= read -r path; do
    [[ $path =~ ^etc/(passwd|group|shadow|gshadow)-?$ ]] && continue             # the shmd user
    [[ $path =~ ^var/(lib/dpkg|lib/apt|cache|log)(/|$) ]] && continue            # dpkg, apt, caches, logs
    [[ $path == etc/ld.so.cache ]] && continue                                   # the ldconfig trigger
    [[ $path =~ ^var/lib/systemd/(random-seed|catalog|timers|timesync)(/|$) ]] && continue  # systemd's own
    [[ $path == var/tmp || $path == "${container_debs#/}" || $path == "${container_debs#/}/"* ]] && continue  # the test's copies
    [[ $path == usr/sbin/policy-rc.d ]] && continue                              # removed above, before the install
    if [[ -d $work/upper/$path && ! -L $work/upper/$path && -d /$path ]]; then continue; fi
    if [[ -f $work/upper/$path && -f /$path ]] && cmp -s "$work/upper/$path" "/$path"; then continue; fi
    left+=("/$path")
  done < <(comm -13 "$work/before-install.list" <(changed_paths))
  ((${#left[@]} == 0)) && ok "after purge, nothing else of the packages is left" ||
    bad "after purge, nothing else of the packages is left" "$(printf '%s\n' "${left[@]}")"
}
