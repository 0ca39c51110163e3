#!/usr/bin/env bash
# Installs this build into a temporary prefix and uses it the way a libshmclient user would:
#   1. cmake --install BUILD_DIR --prefix "TMP/shmd prefix" (a prefix outside every standard
#      path, with a space in it); libshmclient.so has SONAME libshmclient.so.0, and the units'
#      ExecStart= names this prefix's bin/shmd
#      the installed headers are exactly those shm/shm.hpp includes, directly or not, and
#      libshmclient.so exports nothing of shm::detail or shm::wire (cmake/shmclient.map)
#   2. builds tests/install/consumer out of tree with find_package(shmclient), against the shared
#      (shmclient::shmclient) and the static (shmclient::shmclient_static) library
#   3. builds the same main.cpp with a plain g++ command line from `pkg-config shmclient` (which
#      escapes the space with a backslash, so its output goes through the shell as a Makefile's would);
#      shmclient.pc holds absolute paths under the prefix and needs no other .pc file (protobuf's
#      stays out of reach), the shared consumer configures with Protobuf unfindable, and a
#      C++17 compile of <shm/shm.hpp> stops with the #error that says C++20 is needed
#   4. starts the installed bin/shmd on a private socket (readiness through --ready-fd and a
#      fifo, never a sleep) and runs each consumer against it, checking what it prints
#   5. imports the installed Python package (if built) and round-trips a Value through that shmd
# Usage: run_install_test.sh BUILD_DIR SOURCE_DIR TEMP_DIR
# Environment: CMAKE (default cmake), CXX (default g++), PKG_CONFIG (default pkg-config);
#   SHMD_PYTHON_EXECUTABLE, SHMD_PYTHON_INSTALL_DIR, SHMD_PYTHON_CONFIGURED_PREFIX: with the
#   Python package built, step 5 imports the installed copy with that interpreter and round-trips
#   a Value through the installed shmd.
set -euo pipefail

build_dir=$(realpath "$1")
source_dir=$(realpath "$2")
mkdir -p "$3"
cmake=${CMAKE:-cmake}
cxx=${CXX:-g++}
pkg_config=${PKG_CONFIG:-pkg-config}

tmp=$(mktemp -d "$(realpath "$3")/run.XXXXXX")
daemon_pid=
cleanup() {
  if [[ -n $daemon_pid ]]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

step() { echo "== $*"; }

prefix="$tmp/shmd prefix"
step "install into $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
pc=$(find "$prefix" -path '*/pkgconfig/shmclient.pc' -print -quit)
[[ -n $pc ]] || fail "no shmclient.pc under $prefix"
libdir=$(dirname "$(dirname "$pc")")
for f in bin/shmd bin/shmctl include/shm/shm.hpp include/shm/error.hpp; do
  [[ -e $prefix/$f ]] || fail "$f not installed"
done
for f in libshmclient.a libshmclient.so libshmclient.so.0 cmake/shmclient/shmclientConfig.cmake \
         cmake/shmclient/shmclientConfigVersion.cmake cmake/shmclient/shmclientTargets.cmake; do
  [[ -e $libdir/$f ]] || fail "$libdir/$f not installed"
done
step "installed headers: what shm/shm.hpp reaches, no more"
reached=$(cd "$prefix/include" && todo=(shm/shm.hpp) && declare -A seen=() && while ((${#todo[@]})); do
  h=${todo[0]} && todo=("${todo[@]:1}")
  [[ -n ${seen[$h]:-} ]] && continue
  seen[$h]=1
  [[ -e $h ]] || fail "$h is included by an installed header but not installed"
  mapfile -t -O "${#todo[@]}" todo < <(sed -n 's/^#include "\(shm\/[^"]*\)"$/\1/p' "$h")
done && printf '%s\n' "${!seen[@]}" | sort)
installed=$(cd "$prefix/include" && find shm -type f | sort)
[[ $installed == "$reached" ]] || fail "installed headers differ from what shm/shm.hpp includes:
$(diff <(echo "$reached") <(echo "$installed"))"
echo "$(wc -l <<<"$installed") headers"
# The symbol's own name (its parameters may name internal types: a private constructor's do).
internal=$(nm -D --defined-only -C "$libdir/libshmclient.so" | cut -d' ' -f3- | sed 's/(.*//' |
           grep -E '(^| )shm::(detail|wire)::' || true)
[[ -z $internal ]] || fail "libshmclient.so exports internals:
$internal"
soname=$(readelf -d "$libdir/libshmclient.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname == libshmclient.so.0 ]] || fail "SONAME is '$soname', expected libshmclient.so.0"
echo "SONAME $soname -> $(readlink "$libdir/libshmclient.so.0")"
exec_line=$(sed -n 's/^ExecStart=//p' "$prefix/lib/systemd/system/shmd.service")
[[ $exec_line == "\"$prefix/bin/shmd\" "* ]] || fail "shmd.service has ExecStart=$exec_line, not $prefix/bin/shmd"

step "consumer through find_package(shmclient)"
"$cmake" -S "$source_dir/tests/install/consumer" -B "$tmp/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" >"$tmp/consumer.log" 2>&1 ||
  { cat "$tmp/consumer.log"; fail "configuring the find_package consumer"; }
"$cmake" --build "$tmp/consumer" >>"$tmp/consumer.log" 2>&1 ||
  { cat "$tmp/consumer.log"; fail "building the find_package consumer"; }
readelf -d "$tmp/consumer/consumer_shared" | grep -q 'NEEDED.*\[libshmclient.so.0\]' ||
  fail "consumer_shared does not load libshmclient.so.0"
! readelf -d "$tmp/consumer/consumer_static" | grep -q 'NEEDED.*libshmclient' ||
  fail "consumer_static should not need libshmclient.so"

step "the shared consumer through find_package(shmclient), with Protobuf unfindable"
"$cmake" -S "$source_dir/tests/install/consumer" -B "$tmp/consumer-noprotobuf" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCONSUMER_STATIC=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_Protobuf=ON >"$tmp/consumer-noprotobuf.log" 2>&1 ||
  { cat "$tmp/consumer-noprotobuf.log"; fail "configuring the shared consumer without Protobuf"; }
"$cmake" --build "$tmp/consumer-noprotobuf" >>"$tmp/consumer-noprotobuf.log" 2>&1 ||
  { cat "$tmp/consumer-noprotobuf.log"; fail "building the shared consumer without Protobuf"; }

step "consumer through pkg-config"
# PKG_CONFIG_LIBDIR replaces the system's .pc directories: shmclient.pc must need none of them.
export PKG_CONFIG_LIBDIR=$libdir/pkgconfig
grep -q pcfiledir "$pc" && fail "shmclient.pc builds its paths from \${pcfiledir}: $(grep pcfiledir "$pc")"
pc_prefix=$(sed -n 's/^prefix=//p' "$pc")
[[ $pc_prefix == "${prefix// /\\ }" ]] || fail "shmclient.pc has prefix=$pc_prefix, not $prefix"
pc_flags=$("$pkg_config" --cflags --libs shmclient)
echo "pkg-config: $pc_flags"
eval "pc_words=($pc_flags)"  # shell words, backslash escapes and all
eval "pc_libdir=$("$pkg_config" --variable=libdir shmclient)"
[[ $(realpath "$pc_libdir") == "$(realpath "$libdir")" ]] || fail "shmclient.pc libdir $pc_libdir is not $libdir"
"$cxx" -std=c++20 -o "$tmp/consumer_pkgconfig" "$source_dir/tests/install/consumer/main.cpp" \
  "${pc_words[@]}" -Wl,-rpath,"$pc_libdir" ||
  fail "building the pkg-config consumer"
eval "pc_static=($("$pkg_config" --static --libs shmclient))"
[[ " ${pc_static[*]} " == *" -lprotobuf "* ]] || fail "pkg-config --static --libs shmclient lacks -lprotobuf: ${pc_static[*]}"

step "a C++17 compile of <shm/shm.hpp> says that C++20 is needed"
printf '#include <shm/shm.hpp>\nint main() {}\n' >"$tmp/cxx17.cpp"
eval "pc_cflags=($("$pkg_config" --cflags shmclient))"
if "$cxx" -std=c++17 -fsyntax-only "${pc_cflags[@]}" "$tmp/cxx17.cpp" 2>"$tmp/cxx17.log"; then
  fail "a C++17 compile of <shm/shm.hpp> succeeded"
fi
grep -q 'libshmclient needs C++20' "$tmp/cxx17.log" || { cat "$tmp/cxx17.log"; fail "the C++17 compile did not say why"; }
[[ $(grep -c 'error:' "$tmp/cxx17.log") -eq 1 ]] ||
  { cat "$tmp/cxx17.log"; fail "the C++17 compile gave more errors than the one that says why"; }

step "run the consumers against the installed shmd"
socket=$tmp/shmd.sock
if ((${#socket} > 100)); then  # sun_path holds 108 bytes
  socket=$(mktemp -u "${TMPDIR:-/tmp}/shmd-install.XXXXXX.sock")
fi
mkfifo "$tmp/ready"
"$prefix/bin/shmd" --socket "$socket" --log-level warn --ready-fd 3 3>"$tmp/ready" &
daemon_pid=$!
ready=
read -r -t 60 ready <"$tmp/ready" || true
[[ $ready == READY ]] || fail "shmd did not become ready"

check() {
  local tag=$1 program=$2 out
  out=$("$program" "$socket" "$tag") || fail "$tag exited with $?"
  echo "$out"
  [[ $out == "$tag value=42 sum=10 segments=2" ]] || fail "$tag printed '$out'"
}
check cmake-shared "$tmp/consumer/consumer_shared"
check cmake-static "$tmp/consumer/consumer_static"
check cmake-shared-no-protobuf "$tmp/consumer-noprotobuf/consumer_shared"
check pkg-config "$tmp/consumer_pkgconfig"

if [[ -n ${SHMD_PYTHON_EXECUTABLE:-} ]]; then
  step "the Python package with $SHMD_PYTHON_EXECUTABLE"
  # For /usr and /usr/local the package lands on the interpreter's own path; a temporary prefix
  # never is, so the installed copy is reached through PYTHONPATH here.
  configured=$SHMD_PYTHON_CONFIGURED_PREFIX/$SHMD_PYTHON_INSTALL_DIR
  if [[ $SHMD_PYTHON_CONFIGURED_PREFIX == /usr || $SHMD_PYTHON_CONFIGURED_PREFIX == /usr/local ]]; then
    env -u PYTHONPATH "$SHMD_PYTHON_EXECUTABLE" -c "import sys; sys.exit('$configured' not in sys.path)" ||
      fail "$configured is not on $SHMD_PYTHON_EXECUTABLE's default path"
  fi
  site=$prefix/$SHMD_PYTHON_INSTALL_DIR
  ls "$site"/shmd/_core*.so "$site"/shmd/__init__.py >/dev/null || fail "the shmd package is not under $site"
  out=$(cd / && PYTHONPATH=$site "$SHMD_PYTHON_EXECUTABLE" -c "
import shmd, sys
assert shmd.__file__.startswith('$site/'), shmd.__file__
c = shmd.Client(sys.argv[1])
v = c.create_value('py.installed', 'd', 2.678)
w = c.attach_value('py.installed', 'd')
print(w.value, c.info('py.installed').refcount)
" "$socket") || fail "importing the installed shmd package"
  echo "python: $out"
  [[ $out == "2.678 2" ]] || fail "the installed package printed '$out'"
fi

kill "$daemon_pid"
wait "$daemon_pid" || fail "shmd exited with $? on SIGTERM"
daemon_pid=
[[ ! -e $socket ]] || fail "shmd left its socket behind"
echo "PASS"
