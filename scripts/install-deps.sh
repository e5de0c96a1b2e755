#!/usr/bin/env bash
# Installs the Debian 12 packages Record-Store builds and tests with, skipping those present.
# Uses sudo when not root. docs/dependencies.md says why each package is here.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libabsl-dev            # Status/StatusOr, strings, synchronization
  librocksdb-dev         # durable storage under the embedded engine
  libjemalloc-dev        # the binaries' allocator (RocksDB's recommended one)
  libgtest-dev           # tests (GoogleTest, registered with CTest)
  libcli11-dev           # command line of the recordstore binary
  libprotobuf-dev protobuf-compiler  # Biscuit tokens, record schemas, continuations
  libprotoc-dev          # parsing .proto schema text at run time (src/metadata)
  libssl-dev             # Ed25519 / ECDSA P-256 signatures, AES-256-GCM
  libre2-dev             # Biscuit regex expressions
  nlohmann-json3-dev     # reading JSON test vectors (tuple conformance); the CLI's JSON input
  libzstd-dev liblz4-dev # record compression (src/store)
  libgrpc++-dev          # gRPC client of the etcd backend (src/kv/etcd)
  protobuf-compiler-grpc # grpc_cpp_plugin: generates the etcd v3 API stubs
  etcd-server            # etcd binary: the etcd backend's tests and benchmark run local clusters
  etcd-client            # etcdctl: operating etcd clusters (backups, health; docs/operations.md)
  libsqlite3-dev         # baseline of recordstore_bench store
  python3-grpcio         # the Python client test (tests/python) drives the server's gRPC API
  python3-protobuf       # its messages; stubs come from protoc + grpc_python_plugin
  libcpp-httplib-dev     # the server's HTTP side: /healthz and /metrics (src/server)
  libpq-dev              # baseline of recordstore_bench server: its PostgreSQL clients (libpq)
  postgresql-15          # initdb + postgres that recordstore_bench server starts as its baseline
)
# `make fuzz` needs clang's libFuzzer runtime: ./scripts/install-deps.sh fuzz
if [[ "${1:-}" == "fuzz" ]]; then packages+=(clang libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing missing packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
