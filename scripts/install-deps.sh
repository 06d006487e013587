#!/usr/bin/env bash
# Installs every build and test dependency of stampede from Debian 12 (bookworm) packages.
#
#   scripts/install-deps.sh            # as root, or as a user with sudo
#
# Non-interactive and idempotent: packages already installed are left as they are. Runs
# `apt-get update` first so that a fresh container can resolve the package names.
set -euo pipefail

packages=(
  # toolchain and build
  g++ cmake ninja-build make pkg-config
  clang-14 libclang-rt-14-dev   # fuzz/: libFuzzer harnesses under ASan+UBSan (scripts/fuzz.sh)
  # libraries (see the root CMakeLists.txt)
  libsimgrid-dev           # sim/simgrid and bench/pingpong_simgrid
  libboost-graph-dev       # sim/net topology, analysis DOT export
  libboost-random-dev      # sim/core random streams
  libfmt-dev
  libmimalloc-dev          # the allocator linked into every executable (root CMakeLists.txt)
  catch2                   # tests (Catch2 v2 on bookworm)
  libcli11-dev             # cli/
  libyaml-cpp-dev          # sim/scenario
  nlohmann-json3-dev       # traces
  libsqlite3-dev sqlite3   # analysis/ results store
  # tools used by reports, peers and scripts
  gnuplot-nox              # analysis/ plots
  spin                     # bench/ side-by-side with SPIN
  python3
  chromium                 # tests/analysis: the browser test of `export --html` (headless)
  # the conformance suite (conformance/, `make conformance`): real servers that it runs as its
  # own child processes on 127.0.0.1, never as system services, and their Python clients
  zookeeper default-jre-headless   # ZooKeeper 3.8 jars (/usr/share/java) and a JRE
  default-jdk-headless             # runs conformance/ZkHolder.java from source (Java client)
  mariadb-server mariadb-client
  redis-server
  python3-kazoo python3-pymysql python3-redis
  # tests/slurm: a private single-node Slurm that the test runs as its own child processes
  # (never the system services these packages install)
  munge slurmctld slurmd slurm-client
  python3-yaml             # tests/slurm/k8s_path_test.py reads the Kubernetes manifests
)

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: not root and sudo is not available; run this script as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

echo "install-deps: apt-get update"
if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q; then
  # Offline, with everything already installed, the install below still succeeds.
  echo "install-deps: warning: apt-get update failed; trying with the current package lists" >&2
fi

# mariadb-server, redis-server, zookeeper, munge and the Slurm daemons start a system service
# from their install scripts unless policy-rc.d forbids it. The suite and tests/slurm never use
# those services, so where no policy exists one that forbids every start is put in place for the
# install only (containers usually ship it).
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# added by stampede scripts/install-deps.sh for the install only\nexit 101\n' |
    "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  added_policy=1
fi
remove_policy() { if ((added_policy)); then "${SUDO[@]}" rm -f "$policy"; fi; }
trap remove_policy EXIT

echo "install-deps: installing ${#packages[@]} packages"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${packages[@]}"

# Check that what the build looks for is really there.
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: still missing after install: ${missing[*]}" >&2
  exit 1
fi
pkg-config --atleast-version=3.32 simgrid || {
  echo "install-deps: SimGrid >= 3.32 is required (pkg-config simgrid)" >&2
  exit 1
}
echo "install-deps: all ${#packages[@]} packages installed"
