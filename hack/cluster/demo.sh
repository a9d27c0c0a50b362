#!/usr/bin/env bash
# make demo: the local cluster, a healthy pod and its broken twin (an init container
# removed its default route, as in docs/case-study), and kubectl netdiff on the pair.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
make -C "$repo" -s plugin
kc=$("$here/up.sh" | tail -1)
export KUBECONFIG=${kc#KUBECONFIG=} KUBECACHEDIR=$RUN/kubecache
kubectl create namespace netdiff-demo --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# Pods kept in etcd from before the node last started (make cluster-down, then demo again)
# still show Ready, but the new kubelet may not run them yet: start them afresh.
kubelet_started=$(stat -c %Y "$RUN/pids/kubelet.pid")
for p in $(kubectl -n netdiff-demo get pods -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.creationTimestamp}{"\n"}{end}'); do
  if (( $(date -d "${p#*=}" +%s) < kubelet_started )); then
    log "demo pod ${p%%=*} is older than the node's kubelet: recreating the demo pods"
    kubectl -n netdiff-demo delete pods --all --grace-period=0 --force --wait=true >/dev/null 2>&1
    break
  fi
done
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
