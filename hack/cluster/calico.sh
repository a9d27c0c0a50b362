#!/usr/bin/env bash
# Calico's CNI plugin on the local cluster (calico/NOTES.md):
#   calico.sh apply BUILD_DIR              -> the ClusterInformation CRD, its "default" object
#                                            (datastoreReady) and the CNI user's RBAC
#   calico.sh conflist NODE CIDR IPAM_DIR  -> the node's CNI conflist on stdout
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
k() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }
export KUBECACHEDIR=$RUN/kubecache

case ${1:-} in
apply)
  dir=${2:?usage: calico.sh apply BUILD_DIR}
  k apply -f "$dir/crds/crd.projectcalico.org_clusterinformations.yaml" >/dev/null
  k wait --for condition=established --timeout=60s crd/clusterinformations.crd.projectcalico.org >/dev/null
  # Every ADD and DEL refuses to work unless the datastore says it is ready (calico-node
  # sets this on a real cluster; there is none here).
  k apply -f - >/dev/null <<'YAML'
apiVersion: crd.projectcalico.org/v1
kind: ClusterInformation
metadata: {name: default}
spec: {datastoreReady: true}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: calico-cni-plugin}
rules:
- apiGroups: [""]
  resources: [pods, namespaces]
  verbs: [get]
- apiGroups: [""]
  resources: [pods/status]
  verbs: [patch]
- apiGroups: [crd.projectcalico.org]
  resources: [clusterinformations]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: calico-cni-plugin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: calico-cni-plugin}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: calico-cni}
YAML
  ;;
conflist)
  node=${2:?usage: calico.sh conflist NODE CIDR IPAM_DIR} cidr=${3:?} ipam=${4:?}
  # No host-local routes: Calico then installs the default route via 169.254.1.1.
  cat <<JSON
{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "datastore_type": "kubernetes",
      "nodename": "$node",
      "nodename_file_optional": true,
      "log_level": "warning",
      "mtu": $VXLAN_MTU,
      "policy": {"type": "k8s"},
      "kubernetes": {"kubeconfig": "$RUN/calico-cni.kubeconfig"},
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$cidr"}]],
        "dataDir": "$ipam"
      }
    }
  ]
}
JSON
  ;;
*) die "usage: calico.sh apply BUILD_DIR | conflist NODE CIDR IPAM_DIR" ;;
esac
