#!/usr/bin/env bash
# Builds Calico's CNI plugin (the `calico` binary) from the wrapper module in calico/ and
# caches it by version, with the CRDs it needs in Kubernetes-datastore (KDD) mode, so a
# rerun skips the build. See calico/NOTES.md for the conflist, CRDs and RBAC.
# Usage: build-calico.sh  -> prints the directory holding calico and crds/.
# The cluster uses host-local IPAM, so no calico-ipam is made (the same binary runs as
# calico-ipam when called by that name: `ln -s calico calico-ipam` if ever needed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mod=github.com/projectcalico/calico
version=$(sed -n "s|^\(require\)\{0,1\}[[:space:]]*$mod \(v[^ ]*\).*$|\2|p" "$here/calico/go.mod" | head -n1)
[[ -n "$version" ]] || { echo "build-calico: no '$mod vX' requirement in $here/calico/go.mod" >&2; exit 2; }
# The release the pinned commit is, from the '// v3.x.y' comment on that line (for --version).
release=$(sed -n "s|^\(require\)\{0,1\}[[:space:]]*$mod v[^ ]* // \(v[0-9.]*\).*$|\2|p" "$here/calico/go.mod" | head -n1)
cache=${NETDIFF_CLUSTER_CACHE:-${HOME:-/root}/.cache/netdiff-cluster}
out="$cache/calico/$version"
# The CRDs the CNI plugin needs in KDD mode with host-local IPAM: only ClusterInformation,
# whose "default" object (spec.datastoreReady: true) it reads on every ADD and DEL. Workload
# endpoints are pod annotations, not CRDs; IPAM CRDs (ipamblocks, blockaffinities, ...)
# are only for calico-ipam, which this cluster does not use.
crds=(clusterinformations)

have_all() {
  [[ -x "$out/calico" ]] || return 1
  for c in "${crds[@]}"; do [[ -f "$out/crds/crd.projectcalico.org_$c.yaml" ]] || return 1; done
}
if have_all; then echo "$out"; exit 0; fi

start=$(date +%s)
echo "build-calico: building Calico CNI $version${release:+ ($release)} into $out (cold: ~3 min on 2 cores)" >&2
dir=$(cd "$here/calico" && go mod download -json "$mod@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -d $dir/libcalico-go/config/crd ]] || { echo "build-calico: cannot download $mod@$version (no libcalico-go/config/crd in '$dir')" >&2; exit 2; }
ldflags="-s -w -X $mod/pkg/buildinfo.Version=${release:-$version} -X $mod/pkg/buildinfo.GitRevision=${version##*-}"
rm -rf "$out.tmp"
mkdir -p "$out.tmp/crds"
(cd "$here/calico" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp/calico" "$mod/cni-plugin/cmd/calico")
for c in "${crds[@]}"; do
  cp "$dir/libcalico-go/config/crd/crd.projectcalico.org_$c.yaml" "$out.tmp/crds/"
done
chmod -R u+w "$out.tmp"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "build-calico: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
