#!/usr/bin/env bash
# Points the wrapper module kube/ at another Kubernetes release:
#   gen-gomod.sh v1.35.4
# It requires k8s.io/kubernetes at that version and replaces every staging module (read
# from that release's own go.mod) with k8s.io/<m> v0.<minor>.<patch>, then tidies kube/
# only (never the product module). The binary cache is per version, so the next
# `make cluster-up` builds the new release once. Kubelet 1.35+ needs failCgroupV1: false
# on cgroup v1 machines; up.sh already sets it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
v=${1:?usage: gen-gomod.sh vMAJOR.MINOR.PATCH}
staging_v=v0.${v#v1.}
dir=$(cd "$here/kube" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -f $dir/go.mod ]] || { echo "gen-gomod: cannot download k8s.io/kubernetes@$v" >&2; exit 2; }
{
  echo "// Module kube builds the Kubernetes server binaries (kube-apiserver, kubelet,"
  echo "// kube-controller-manager) for the local test cluster. It is its own module so the"
  echo "// product's go.mod never depends on k8s.io/kubernetes. Regenerate with ../gen-gomod.sh."
  echo "module github.com/netdiff/kubectl-netdiff/hack/cluster/kube"
  echo
  echo "go $(sed -n 's/^go //p' "$dir/go.mod")"
  echo
  echo "require k8s.io/kubernetes $v"
  echo
  echo "replace ("
  sed -n '/^replace (/,/^)/p' "$dir/go.mod" | awk -v m="$staging_v" '$2 == "=>" {print "\t" $1 " => " $1 " " m}'
  echo ")"
} > "$here/kube/go.mod"
rm -f "$here/kube/go.sum"
(cd "$here/kube" && go mod tidy)
echo "kube/go.mod now builds Kubernetes $v" >&2
