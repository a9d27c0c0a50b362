#!/usr/bin/env bash
# Builds the release tools from hack/release/tools (a Go module of its own, so their large
# dependency graphs stay out of the product's go.mod) and prints the binary's path.
# Binaries are cached under ~/.cache/netdiff-tools/<version>/, so only the first run builds.
#   tools.sh goreleaser | validate-krew-manifest | krew
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${NETDIFF_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netdiff-tools}

# The versions must agree with hack/release/tools/go.mod (checked below).
GORELEASER_VERSION=v2.15.1
KREW_VERSION=v0.4.3

case ${1:-} in
  goreleaser) mod=github.com/goreleaser/goreleaser/v2 ver=$GORELEASER_VERSION pkg=$mod ;;
  validate-krew-manifest) mod=sigs.k8s.io/krew ver=$KREW_VERSION pkg=$mod/cmd/validate-krew-manifest ;;
  krew) mod=sigs.k8s.io/krew ver=$KREW_VERSION pkg=$mod/cmd/krew ;;
  *) echo "usage: $0 goreleaser|validate-krew-manifest|krew" >&2; exit 2 ;;
esac

if ! grep -qE "^[[:space:]]*$mod $ver( |$)" "$here/tools/go.mod"; then
  echo "tools.sh: $mod $ver is not what hack/release/tools/go.mod requires; update one of them" >&2
  exit 1
fi

bin=$cache/$ver/$1
if [[ ! -x $bin ]]; then
  mkdir -p "$cache/$ver"
  echo "tools.sh: building $pkg@$ver into $bin (first time only; goreleaser takes minutes)" >&2
  start=$SECONDS
  # A temporary name, so an interrupted build never leaves a half-written tool behind.
  CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -C "$here/tools" -trimpath -o "$bin.tmp.$$" "$pkg"
  mv "$bin.tmp.$$" "$bin"
  echo "tools.sh: built $1 in $((SECONDS - start))s" >&2
fi
echo "$bin"
