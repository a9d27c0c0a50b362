#!/usr/bin/env bash
# Builds kube-apiserver, kubelet, kube-controller-manager, kube-scheduler and kube-proxy from the wrapper module in
# kube/ and caches them by version, so a rerun (or CI on a kept machine) skips the build.
# Usage: build-kube.sh  -> prints the directory holding the binaries.
# NETDIFF_KUBE_MODULE names another wrapper module's directory (default hack/cluster/kube, the
# default release; hack/cluster/kube-v1.37 is the newest one, for `make e2e-matrix`). A
# relative path is taken from the current directory, else from the repository root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mod=${NETDIFF_KUBE_MODULE:-hack/cluster/kube}
if [[ $mod != /* && ! -d $mod ]]; then mod=$repo/$mod; fi
[[ -f $mod/go.mod ]] || { echo "build-kube: NETDIFF_KUBE_MODULE=$mod has no go.mod" >&2; exit 2; }
mod=$(cd "$mod" && pwd)
version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$mod/go.mod")
[[ -n "$version" ]] || { echo "build-kube: no 'require k8s.io/kubernetes vX' line in $mod/go.mod" >&2; exit 2; }
cache=${NETDIFF_CLUSTER_CACHE:-${HOME:-/root}/.cache/netdiff-cluster}
out="$cache/bin/$version"
cmds=(kube-apiserver kubelet kube-controller-manager kube-proxy kube-scheduler)

have_all() { for c in "${cmds[@]}"; do [[ -x "$out/$c" ]] || return 1; done; }
if have_all; then echo "$out"; exit 0; fi

major=${version#v}; major=${major%%.*}
minor=${version#v*.}; minor=${minor%%.*}
ldflags="-s -w"
# Without these the binaries call themselves v0.0.0-master and the kubelet/apiserver
# version checks and `kubectl version` look broken.
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $p.gitVersion=$version -X $p.gitMajor=$major -X $p.gitMinor=$minor"
  ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
mkdir -p "$out.tmp"
start=$(date +%s)
echo "build-kube: building Kubernetes $version from $mod into $out (cold: ~5-9 min on 2 cores)" >&2
(cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kube-scheduler)
mkdir -p "$out"
for c in "${cmds[@]}"; do mv "$out.tmp/$c" "$out/$c"; done
rmdir "$out.tmp" 2>/dev/null || true
echo "build-kube: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
