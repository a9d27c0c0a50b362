#!/usr/bin/env bash
# make demo: the local cluster, a healthy pod and its broken twin (an init container
# removed its default route, as in docs/case-study), and kubectl netdiff on the pair.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
# The plugin builds beside the cluster: on a cold machine its module downloads and compile
# would otherwise come before the cluster's builds start (87 s of a 614 s cold demo).
plugin_log=$(mktemp)
make -C "$repo" -s plugin >"$plugin_log" 2>&1 &
plugin_pid=$!
trap 'wait "$plugin_pid" 2>/dev/null; rm -f "$plugin_log"' EXIT
# No Felix for the demo unless asked for: its fault is a route, and on a cold machine
# Felix's build (about 4 minutes of both cores) would push the demo past 10 minutes. A
# later make cluster-up or make e2e adds Felix to this cluster.
kc=$(NETDIFF_CLUSTER_FELIX=${NETDIFF_CLUSTER_FELIX:-0} "$here/up.sh" | tail -1)
if ! wait "$plugin_pid"; then
  cat "$plugin_log" >&2
  echo "demo: building the plugin failed (make plugin, above)" >&2
  exit 1
fi
cat "$plugin_log" >&2
export KUBECONFIG=${kc#KUBECONFIG=} KUBECACHEDIR=$RUN/kubecache
kubectl create namespace netdiff-demo --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# Pods kept in etcd from before this kubelet started (make cluster-down, then make demo)
# still say Ready, but the new kubelet has not admitted them (exec: "pod does not exist")
# and their containers died with the old one: recreate every demo pod older than the
# kubelet, so the Ready waited for below is this kubelet's. up.sh writes the pid file
# when it starts the kubelet.
kubelet_start=$(date -r "$RUN/pids/kubelet-$NODE_NAME.pid" +%s)
stale=()
while read -r name created; do
  if [[ -n $name ]] && (( $(date -d "$created" +%s) < kubelet_start )); then stale+=("$name"); fi
done < <(kubectl -n netdiff-demo get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.creationTimestamp}{"\n"}{end}')
if ((${#stale[@]})); then
  echo "demo: recreating ${stale[*]}: created before the kubelet started, so their Ready is from before" >&2
  # The restarted kubelet confirms the deletion once it has synced; if it does not within
  # a minute, remove them from the API server and leave the rest to it.
  kubectl -n netdiff-demo delete pod "${stale[@]}" --wait --timeout=60s >/dev/null 2>&1 ||
    kubectl -n netdiff-demo delete pod "${stale[@]}" --grace-period=0 --force >/dev/null 2>&1
fi
sed -e "s|\${NODE}|$NODE_NAME|g; s|\${APP_IMAGE}|$APP_IMAGE|g" "$repo/test/e2e/testdata/pair.yaml" | kubectl -n netdiff-demo apply -f - >/dev/null
kubectl -n netdiff-demo wait --for=condition=Ready pod/web-a pod/web-broken --timeout=120s >/dev/null
echo "\$ kubectl netdiff -n netdiff-demo web-a web-broken" >&2
set +e
"$repo/bin/kubectl-netdiff" -n netdiff-demo web-a web-broken
rc=$?
set -e
echo "(exit status $rc: 0 no differences, 1 differences found, 2 error)" >&2
echo "Try: export KUBECONFIG=$KUBECONFIG; bin/kubectl-netdiff -n netdiff-demo web-a web-b; make cluster-down" >&2
(( rc < 2 ))
