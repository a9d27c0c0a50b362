#!/usr/bin/env bash
# Points a wrapper module at another Kubernetes release:
#   gen-gomod.sh v1.35.4                              rewrites kube/ (the default release)
#   gen-gomod.sh v1.37.2 hack/cluster/kube-v1.37      writes (or rewrites) another module dir
# It requires k8s.io/kubernetes at that version and replaces every staging module (read
# from that release's own go.mod) with k8s.io/<m> v0.<minor>.<patch>, then tidies that
# module only (never the product module). A new dir gets kube/'s tools.go. The binary cache
# is per version, so the next `make cluster-up` (with NETDIFF_KUBE_MODULE=<dir> for another
# dir, see build-kube.sh) builds the new release once. Kubelet 1.35+ needs failCgroupV1: false
# on cgroup v1 machines; up.sh already sets it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
v=${1:?usage: gen-gomod.sh vMAJOR.MINOR.PATCH [module dir, default hack/cluster/kube]}
out=${2:-$here/kube}
if [[ $out != /* && ! -d $out ]]; then out=$repo/$out; fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
case $out/ in
  "$repo"/*) modpath=github.com/netdiff/kubectl-netdiff/${out#"$repo"/} ;;
  *) modpath=github.com/netdiff/kubectl-netdiff/hack/cluster/$(basename "$out") ;;
esac
[[ -f $out/tools.go ]] || cp "$here/kube/tools.go" "$out/tools.go"
staging_v=v0.${v#v1.}
dir=$(cd "$here/kube" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -f $dir/go.mod ]] || { echo "gen-gomod: cannot download k8s.io/kubernetes@$v" >&2; exit 2; }
{
  echo "// Module $(basename "$out") builds the Kubernetes server binaries (kube-apiserver, kubelet,"
  echo "// kube-controller-manager, kube-scheduler, kube-proxy) for the local test cluster. It is"
  echo "// its own module so the product's go.mod never depends on k8s.io/kubernetes."
  echo "// Regenerate with hack/cluster/gen-gomod.sh $v${2:+ $2}."
  echo "module $modpath"
  echo
  echo "go $(sed -n 's/^go //p' "$dir/go.mod")"
  echo
  echo "require k8s.io/kubernetes $v"
  echo
  echo "replace ("
  sed -n '/^replace (/,/^)/p' "$dir/go.mod" | awk -v m="$staging_v" '$2 == "=>" {print "\t" $1 " => " $1 " " m}'
  echo ")"
} > "$out/go.mod"
rm -f "$out/go.sum"
(cd "$out" && go mod tidy)
echo "gen-gomod: $out/go.mod now builds Kubernetes $v" >&2
