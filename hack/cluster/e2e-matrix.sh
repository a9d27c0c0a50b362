#!/usr/bin/env bash
# The e2e suite once per Kubernetes release (`make e2e-matrix`, docs/cluster.md): for each
# wrapper module dir (default: hack/cluster/kube, the default release, and
# hack/cluster/kube-v1.37, the newest that builds here; "dir:ptp" runs that release with
# the ptp pod network instead of Calico's, the topology whose gateways and pod subnets
# differ per node) it purges the local cluster, runs `make e2e` on a fresh one built
# from that module (NETDIFF_KUBE_MODULE, see build-kube.sh), and records the outcome; the
# cluster is purged again at the end (KEEP_CLUSTER=1 leaves the last one running).
#   e2e-matrix.sh [module dir[:calico|:ptp]...]
# Results: _out/e2e-matrix.txt (a markdown table) and each run's output in
# _out/e2e-matrix/<version>.log. Exits 1 if any release failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
cd "$repo"
if (( $# > 0 )); then mods=("$@"); else mods=(hack/cluster/kube hack/cluster/kube:ptp hack/cluster/kube-v1.37); fi
out=$repo/_out/e2e-matrix.txt
logs=$repo/_out/e2e-matrix
mkdir -p "$logs"

# One markdown cell: no '|' (it would split the cell) and no tabs or newlines.
cell() { local s=${1//|/\\|}; s=${s//$'\t'/ }; printf '%s' "${s//$'\n'/ }"; }
rows=()
write_table() {
  { echo "# e2e matrix, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo
    echo "| module | Kubernetes | server reports | result | go test summary | wall time |"
    echo "| --- | --- | --- | --- | --- | --- |"
    if (( ${#rows[@]} > 0 )); then printf '%s\n' "${rows[@]}"; fi
  } > "$out"
}
down() { make -C "$repo" -s cluster-down PURGE=1; }
say() { echo "e2e-matrix: $*" >&2; }

failed=0
for m in "${mods[@]}"; do
  dir=${m%%:*}; cni=calico; [[ $m == *:* ]] && cni=${m##*:}
  [[ $dir == /* ]] || dir=$repo/$dir
  version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$dir/go.mod" 2>/dev/null || true)
  if [[ -z $version ]]; then
    say "$m: no 'require k8s.io/kubernetes vX' line in $dir/go.mod"
    rows+=("| $(cell "$m") | ? | - | FAIL | no k8s.io/kubernetes version in go.mod | 0s |")
    failed=1; write_table; continue
  fi
  say "$m ($version): purging the cluster"
  if ! down; then
    # The machine is in an unknown state: the next release would run on leftovers.
    rows+=("| $(cell "$m") | $version | - | FAIL | cluster-down PURGE=1 failed before the run | 0s |")
    failed=1; write_table
    say "cluster-down failed; stopping (results in $out)"
    exit 1
  fi
  log=$logs/$version-$cni.log
  say "$m ($version, $cni): make e2e (log: $log)"
  start=$(date +%s)
  rc=0
  NETDIFF_KUBE_MODULE=$dir NETDIFF_CLUSTER_CNI=$cni make -C "$repo" -s e2e 2>&1 | tee "$log" || rc=$?
  secs=$(( $(date +%s) - start ))
  # go test's last package line: "ok  <pkg> <time>", "FAIL <pkg> <time>" or "FAIL <pkg> [build failed]".
  summary=$(grep -E '^(ok|FAIL)[[:space:]]+[^[:space:]]' "$log" | tail -1 || true)
  [[ -n $summary ]] || summary="no go test summary (cluster or build failed? see $log)"
  # What the API server says it is: the binaries really were this module's.
  server=$(kubectl --kubeconfig "$KUBECONFIG_FILE" --request-timeout=10s get --raw /version 2>/dev/null | jq -r .gitVersion 2>/dev/null || true)
  if (( rc == 0 )) && [[ $server != "$version" ]]; then
    summary="$summary; but the API server reports '${server:-nothing}', not $version"
    rc=1
  fi
  result=PASS; (( rc == 0 )) || { result=FAIL; failed=1; }
  rows+=("| $(cell "$m") | $version | $(cell "${server:--}") | $result | $(cell "$summary") | $(( secs / 60 ))m$(( secs % 60 ))s |")
  write_table
  say "$m ($version): $result in ${secs}s"
done

if [[ -z ${KEEP_CLUSTER:-} ]]; then down || { say "final cluster-down failed"; failed=1; }; fi
cat "$out"
exit "$failed"
