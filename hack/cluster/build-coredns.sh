#!/usr/bin/env bash
# Builds CoreDNS with the cluster's plugin set from the wrapper module in coredns/ and
# caches it by version, so a rerun (or CI on a kept machine) skips the build.
# Usage: build-coredns.sh  -> prints the directory holding the coredns binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^require github.com\/coredns\/coredns \(v[0-9.]*\)$/\1/p' "$here/coredns/go.mod")
[[ -n "$version" ]] || { echo "build-coredns: no 'require github.com/coredns/coredns vX' line in $here/coredns/go.mod" >&2; exit 2; }
cache=${NETDIFF_CLUSTER_CACHE:-${HOME:-/root}/.cache/netdiff-cluster}
out="$cache/coredns/$version"

if [[ -x "$out/coredns" ]]; then echo "$out"; exit 0; fi

mkdir -p "$out"
start=$(date +%s)
echo "build-coredns: building CoreDNS $version into $out (cold: ~2-3 min on 2 cores)" >&2
# gitTag makes `coredns -version` say the release instead of a development build.
(cd "$here/coredns" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/coredns/coredns/coremain.gitTag=$version" -o "$out/coredns.tmp" .)
mv "$out/coredns.tmp" "$out/coredns"
echo "build-coredns: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
