#!/usr/bin/env bash
# Builds Calico's CNI plugin (the `calico` binary) and, with --felix, Calico's policy agent
# Felix (`calico-felix`) from the wrapper module in calico/ (one pin of the calico monorepo
# for both) and caches them by version, with the CRDs they need in Kubernetes-datastore
# (KDD) mode, so a rerun skips the build. Both are built by one `go build`, so the packages
# they share are compiled once. See calico/NOTES.md for the conflist, CRDs and RBAC.
# Usage: build-calico.sh [--felix]  -> prints the directory holding calico, calico-felix
# (with --felix) and crds/.
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
crds=(crd.projectcalico.org_clusterinformations)
felix=false
[[ ${1:-} == --felix ]] && felix=true
# Felix lists and watches every kind it enforces or reads its settings from (its syncer
# never reports in sync while one list fails): all of Calico's CRDs, and the Kubernetes
# AdminNetworkPolicy CRDs Calico ships beside them.
felix_crds=(clusterinformations felixconfigurations ippools ipreservations globalnetworkpolicies
  networkpolicies stagedglobalnetworkpolicies stagednetworkpolicies stagedkubernetesnetworkpolicies
  globalnetworksets networksets tiers hostendpoints bgpconfigurations bgppeers bgpfilters
  blockaffinities ipamblocks ipamhandles ipamconfigs kubecontrollersconfigurations caliconodestatuses)
if $felix; then
  crds=("${felix_crds[@]/#/crd.projectcalico.org_}" policy.networking.k8s.io_adminnetworkpolicies policy.networking.k8s.io_baselineadminnetworkpolicies)
fi

have_all() {
  [[ -x "$out/calico" ]] || return 1
  ! $felix || [[ -x "$out/calico-felix" ]] || return 1
  for c in "${crds[@]}"; do [[ -f "$out/crds/$c.yaml" ]] || return 1; done
}
if have_all; then echo "$out"; exit 0; fi

start=$(date +%s)
# What is missing: a cached CNI plugin is kept when only Felix is new.
pkgs=() bins=()
if [[ ! -x $out/calico ]]; then pkgs+=("$mod/cni-plugin/cmd/calico"); bins+=(calico); fi
if $felix && [[ ! -x $out/calico-felix ]]; then pkgs+=("$mod/felix/cmd/calico-felix"); bins+=(calico-felix); fi
echo "build-calico: building ${bins[*]:-CRDs} $version${release:+ ($release)} into $out (cold: ~3 min on 2 cores, ~5 with Felix)" >&2
dir=$(cd "$here/calico" && go mod download -json "$mod@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -d $dir/libcalico-go/config/crd ]] || { echo "build-calico: cannot download $mod@$version (no libcalico-go/config/crd in '$dir')" >&2; exit 2; }
ldflags="-s -w -X $mod/pkg/buildinfo.Version=${release:-$version} -X $mod/pkg/buildinfo.GitRevision=${version##*-}"
# A directory of this run's own (another up.sh may build at the same time), whose files
# are then renamed into place one by one: a running cluster's CNI plugin is never missing.
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/crds"
trap 'rm -rf "$tmp"' EXIT
if ((${#pkgs[@]})); then
  (cd "$here/calico" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}")
fi
for c in "${crds[@]}"; do
  cp "$dir/libcalico-go/config/crd/$c.yaml" "$tmp/crds/"
done
chmod -R u+w "$tmp"
mkdir -p "$out/crds"
for f in "$tmp"/crds/*; do mv -f "$f" "$out/crds/"; done
for b in "${bins[@]}"; do mv -f "$tmp/$b" "$out/$b"; done
echo "build-calico: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
