#!/usr/bin/env bash
# Deploys the cluster DNS (coredns.yaml: CoreDNS behind the kube-dns Service at
# DNS_SERVICE_IP) and waits for its rollout. The image must already be imported
# (images.sh import). Idempotent: a second run re-applies and waits again.
# Usage: coredns.sh KUBECONFIG
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
[[ $# == 1 && -f $1 ]] || die "usage: coredns.sh KUBECONFIG"
export KUBECACHEDIR=${KUBECACHEDIR:-$RUN/kubecache}
kc=$1
k() { kubectl --kubeconfig "$kc" "$@"; }
manifest=$(sed -e "s|\${COREDNS_IMAGE}|$COREDNS_IMAGE|g; s|\${DNS_SERVICE_IP}|$DNS_SERVICE_IP|g" "$here/coredns.yaml")
[[ $manifest != *'${'* ]] || die "coredns.yaml: a placeholder was left unsubstituted"
k apply -f - >/dev/null <<<"$manifest"
if ! k -n kube-system rollout status deployment/coredns --timeout="${COREDNS_TIMEOUT:-180s}" >&2; then
  k -n kube-system get pods -l k8s-app=kube-dns -o wide >&2 || true
  die "coredns did not roll out (no pods: is kube-controller-manager running? Pending: kube-scheduler, or no Ready node? ErrImageNeverPull: images.sh import)"
fi
log "cluster DNS: $COREDNS_IMAGE behind kube-dns $DNS_SERVICE_IP"
