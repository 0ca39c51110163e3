#!/usr/bin/env bash
# Builds the packages with scripts/package --lintian into OUT_DIR, then checks each one:
# its files, its Depends, the shlibs of libshmclient0 (>= the version), the maintainer scripts
# (debhelper's, no hand-written systemctl) and that debian/changelog has the CMake project version.
# Usage: run_package_test.sh SOURCE_DIR OUT_DIR PROJECT_VERSION   (exit 77: the tools are missing)
set -euo pipefail
source_dir=$1
out=$2
project_version=$3

for tool in dpkg-buildpackage dh dh_python3 lintian; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIPPED: $tool is not installed (scripts/setup installs it)"
    exit 77
  fi
done

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

changelog_version=$(dpkg-parsechangelog -l "$source_dir/debian/changelog" -S Version)
[[ $changelog_version == "$project_version" ]] ||
  fail "debian/changelog is at $changelog_version, CMakeLists.txt's project() at $project_version"

"$source_dir/scripts/package" --out "$out" --lintian

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
deb() { echo "$out/${1}_${changelog_version}_$arch.deb"; }
for p in shmd libshmclient0 libshmclient-dev python3-shmd; do
  [[ -f $(deb "$p") ]] || fail "no package $(basename "$(deb "$p")")"
done
((failures == 0)) || exit 1

# Each package holds what it must and none of what another package holds.
contents() { dpkg-deb --fsys-tarfile "$(deb "$1")" | tar -t | sed 's|^\./|/|'; }
expect_files() {
  local package=$1; shift
  local list
  list=$(contents "$package")
  for f in "$@"; do
    grep -qx -- "$f" <<<"$list" || fail "$package does not hold $f"
  done
}
expect_files shmd /usr/bin/shmd /usr/bin/shmctl /usr/bin/shm-lab /lib/systemd/system/shmd.socket \
  /lib/systemd/system/shmd.service /usr/lib/sysusers.d/shmd.conf /usr/share/man/man8/shmd.8.gz \
  /usr/share/man/man1/shmctl.1.gz /usr/share/man/man1/shm-lab.1.gz /usr/share/doc/shmd/install.md \
  /usr/share/doc/shmd/copyright
expect_files libshmclient0 "/usr/lib/$multiarch/libshmclient.so.0" "/usr/lib/$multiarch/libshmclient.so.$project_version"
expect_files libshmclient-dev /usr/include/shm/shm.hpp "/usr/lib/$multiarch/libshmclient.a" \
  "/usr/lib/$multiarch/libshmclient.so" "/usr/lib/$multiarch/cmake/shmclient/shmclientConfig.cmake" \
  "/usr/lib/$multiarch/pkgconfig/shmclient.pc"
expect_files python3-shmd /usr/lib/python3/dist-packages/shmd/__init__.py
contents python3-shmd | grep -q '^/usr/lib/python3/dist-packages/shmd/_core\.cpython-3[0-9]*-.*\.so$' ||
  fail "python3-shmd holds no shmd/_core extension"
for p in shmd libshmclient-dev python3-shmd; do
  contents "$p" | grep -q "libshmclient\.so\.0" && fail "$p holds libshmclient.so.0, which is libshmclient0's"
done
contents shmd | grep -Eq '^/usr/(include|lib/python3)/' && fail "shmd holds headers or Python files"

field() { dpkg-deb -f "$(deb "$1")" "$2"; }
# The shlibs file: a program linked with libshmclient.so.0 needs at least this version.
shlibs=$(dpkg-deb --ctrl-tarfile "$(deb libshmclient0)" | tar -xO ./shlibs)
[[ $shlibs == "libshmclient 0 libshmclient0 (>= $changelog_version)" ]] ||
  fail "libshmclient0's shlibs is '$shlibs'"
[[ $(field libshmclient-dev Depends) == *"libshmclient0 (= $changelog_version)"* ]] ||
  fail "libshmclient-dev does not depend on libshmclient0 (= $changelog_version): $(field libshmclient-dev Depends)"
[[ $(field libshmclient-dev Depends) == *libprotobuf-dev* ]] ||
  fail "libshmclient-dev does not depend on libprotobuf-dev (linking libshmclient.a needs it)"
[[ $(field python3-shmd Depends) == *"python3 (<<"* ]] ||
  fail "python3-shmd does not pin the Python 3 minor version its extension is built for: $(field python3-shmd Depends)"
[[ $(field shmd Depends) == *systemd* ]] || fail "shmd does not depend on systemd (sysusers): $(field shmd Depends)"
for p in shmd python3-shmd; do
  [[ $(field "$p" Depends) == *libshmclient0* ]] && fail "$p depends on libshmclient0, but links libshmclient statically"
done

# The maintainer scripts are debhelper's: units through deb-systemd-helper/-invoke, the user
# through systemd-sysusers; nothing calls systemctl to enable, start or stop by hand.
scripts=$(dpkg-deb --ctrl-tarfile "$(deb shmd)" | tar -xO ./postinst ./prerm ./postrm 2>/dev/null)
grep -q 'deb-systemd-helper enable .shmd.socket' <<<"$scripts" || fail "shmd's postinst does not enable shmd.socket"
grep -q "deb-systemd-invoke start 'shmd.socket'" <<<"$scripts" || fail "shmd's postinst does not start shmd.socket"
grep -q "deb-systemd-invoke try-restart 'shmd.service'" <<<"$scripts" ||
  fail "shmd's postinst does not try-restart shmd.service on upgrade"
grep -q "deb-systemd-invoke stop 'shmd.socket'" <<<"$scripts" || fail "shmd's prerm does not stop shmd.socket"
grep -q 'systemd-sysusers.*shmd.conf' <<<"$scripts" || fail "shmd's postinst does not create the user"
grep -Eq "deb-systemd-invoke (start|restart|try-restart|stop) [^#]*'shmd.socket'[^#]*'shmd.service'|(restart|try-restart) 'shmd.socket'" <<<"$scripts" &&
  fail "a maintainer script restarts shmd.socket on upgrade (that stops the service and empties the fd store)"
grep -Ev '^\s*#|systemctl --system daemon-reload' <<<"$scripts" | grep -q 'systemctl ' &&
  fail "a maintainer script calls systemctl by hand: $(grep -n 'systemctl ' <<<"$scripts" | grep -v daemon-reload)"

((failures == 0)) || exit 1
echo "package.debs: 4 packages built, lintian clean, contents, dependencies, shlibs and maintainer scripts checked"
