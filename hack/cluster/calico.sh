#!/usr/bin/env bash
# Calico's CNI plugin and Felix on the local cluster (calico/NOTES.md):
#   calico.sh apply BUILD_DIR              -> the ClusterInformation CRD, its "default" object
#                                            (datastoreReady) and the CNI user's RBAC; with
#                                            Felix (FELIX=1) all of Calico's CRDs, the IP
#                                            pool, tiers, FelixConfiguration and Felix's RBAC
#   calico.sh conflist NODE CIDR IPAM_DIR  -> the node's CNI conflist on stdout
#   calico.sh node NODE                    -> what calico-node would write on the Node:
#                                            its address, VXLAN tunnel address, pod CIDR
#   calico.sh felix NODE BUILD_DIR         -> runs Felix for NODE in the foreground (inside
#                                            the node's namespace: up.sh starts it there),
#                                            restarting it when it exits, as calico-node's
#                                            supervisor does; TERM stops it
#   calico.sh felix-ready NODE             -> exit 0 when that node's Felix reports ready
#   calico.sh felix-off NODE               -> takes Felix off a running node: stops it (its
#                                            recorded PID) and removes its iptables rules and
#                                            ipsets; the routes and VXLAN device it made stay
#                                            (they are what up.sh programs, with Felix's MAC)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
k() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }
export KUBECACHEDIR=$RUN/kubecache

felix_dir() { echo "$RUN/nodes/$1/felix"; }
felix_health_port=9099   # Felix's default; each node's 127.0.0.1 is its own namespace's

felix_objects() { # the cluster-wide objects calico-node and its manifests would create
  local pod_cidr=$POD_CIDR
  k apply -f - >/dev/null <<YAML
# Cluster-wide Felix settings, as calico-node's manifest (calico-vxlan.yaml) sets them
# through its environment: traffic from a pod to its own node is accepted (kubelet probes,
# the apiserver on the first node), no IPv6, VXLAN at the LAN's MTU minus its header.
apiVersion: crd.projectcalico.org/v1
kind: FelixConfiguration
metadata: {name: default}
spec:
  defaultEndpointToHostAction: ACCEPT
  ipv6Support: false
  vxlanMTU: $VXLAN_MTU
  # The node's uplink is nd-lan, which Felix's default pattern (eth*, en*, ...) misses.
  mtuIfacePattern: "^nd-lan\$"
  # Felix's routes carry "proto static" (its default would be "boot"), like the routes
  # up.sh programs before Felix runs: an older up.sh that checks for those still finds
  # the network whole.
  deviceRouteProtocol: 4
  usageReportingEnabled: false
  logSeverityScreen: Info
  healthEnabled: true
---
# The pool of every node's pod range: VXLAN always (the nodes share one LAN, so
# CrossSubnet would route without encapsulation), and natOutgoing for traffic leaving it.
apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata: {name: default-ipv4-ippool}
spec:
  cidr: $pod_cidr
  vxlanMode: Always
  ipipMode: Never
  natOutgoing: true
  nodeSelector: all()
  blockSize: 24
  allowedUses: [Workload, Tunnel]
  assignmentMode: Automatic
---
# The tiers calico-node creates at start-up; Kubernetes NetworkPolicies and Calico's
# untiered policies live in "default".
apiVersion: crd.projectcalico.org/v1
kind: Tier
metadata: {name: default}
spec: {order: 1000000, defaultAction: Deny}
---
apiVersion: crd.projectcalico.org/v1
kind: Tier
metadata: {name: adminnetworkpolicy}
spec: {order: 1000, defaultAction: Pass}
---
apiVersion: crd.projectcalico.org/v1
kind: Tier
metadata: {name: baselineadminnetworkpolicy}
spec: {order: 10000000, defaultAction: Pass}
---
# What Felix reads and writes, from upstream's calico-node ClusterRole, less what only
# calico-node's other parts (BIRD, IPAM, the CNI token) use.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: calico-felix}
rules:
- apiGroups: [""]
  resources: [pods, nodes, namespaces, serviceaccounts, services, endpoints]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [nodes/status]
  verbs: [patch, update]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch]
- apiGroups: [policy.networking.k8s.io]
  resources: [adminnetworkpolicies, baselineadminnetworkpolicies]
  verbs: [list, watch]
- apiGroups: [crd.projectcalico.org]
  resources: [felixconfigurations, clusterinformations, ippools, ipreservations, ipamblocks,
    blockaffinities, globalnetworkpolicies, stagedglobalnetworkpolicies, networkpolicies,
    stagednetworkpolicies, stagedkubernetesnetworkpolicies, globalnetworksets, networksets,
    hostendpoints, tiers, bgpconfigurations, bgppeers, bgpfilters, caliconodestatuses]
  verbs: [get, list, watch]
- apiGroups: [crd.projectcalico.org]
  resources: [felixconfigurations, clusterinformations, caliconodestatuses]
  verbs: [create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: calico-felix}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: calico-felix}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: calico-felix}
YAML
}

case ${1:-} in
apply)
  dir=${2:?usage: calico.sh apply BUILD_DIR}
  if [[ $FELIX == 1 ]]; then
    k apply -f "$dir/crds/" >/dev/null
    k wait --for condition=established --timeout=60s -f "$dir/crds/" >/dev/null
  else
    k apply -f "$dir/crds/crd.projectcalico.org_clusterinformations.yaml" >/dev/null
    k wait --for condition=established --timeout=60s crd/clusterinformations.crd.projectcalico.org >/dev/null
  fi
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
  if [[ $FELIX == 1 ]]; then felix_objects; fi
  ;;
node)
  n=${2:?usage: calico.sh node NODE}
  cidr=$(node_pod_cidr "$n")
  # calico-node writes the node's address and VXLAN tunnel address as annotations; Felix
  # makes its VTEPs from them (the MAC it derives itself). Host-local IPAM: the node's
  # range is its Node's spec.podCIDR (set once; the nodeipam controller is off here), from
  # which Felix makes the block it routes to and blackholes (USE_POD_CIDR).
  k annotate --overwrite node "$n" >/dev/null \
    "projectcalico.org/IPv4Address=$(node_ip "$n")/24" \
    "projectcalico.org/IPv4VXLANTunnelAddr=${cidr%.0/24}.1"
  have=$(k get node "$n" -o jsonpath='{.spec.podCIDR}')
  if [[ -z $have ]]; then
    k patch node "$n" --type merge -p "{\"spec\":{\"podCIDR\":\"$cidr\",\"podCIDRs\":[\"$cidr\"]}}" >/dev/null
  elif [[ $have != "$cidr" ]]; then
    die "node $n has spec.podCIDR $have, not $cidr: recreate the cluster (make cluster-down PURGE=1)"
  fi
  ;;
felix)
  n=${2:?usage: calico.sh felix NODE BUILD_DIR} dir=${3:?}
  fd=$(felix_dir "$n")
  mkdir -p "$fd"
  cat > "$fd/felix.cfg" <<CFG
[global]
FelixHostname = $n
DatastoreType = kubernetes
HealthEnabled = true
HealthHost = 127.0.0.1
HealthPort = $felix_health_port
LogFilePath = none
LogSeveritySys = none
EndpointStatusPathPrefix = $fd
IptablesBackend = nft
XDPEnabled = false
CFG
  # The datastore client reads these from the environment only.
  export DATASTORE_TYPE=kubernetes KUBECONFIG=$RUN/calico-felix.kubeconfig USE_POD_CIDR=true
  # Built without cgo, Felix has no libbpf: its start-up clean-up of a BPF-mode connect-time
  # load balancer (which cannot exist here) would mount bpffs on the machine and then panic
  # in libbpf's stub. Felix's own switch for skipping it (named for its FV tests):
  export FELIX_DebugSkipCTLBCleanup=true
  child=
  trap '[[ -n $child ]] && kill "$child" 2>/dev/null; wait; exit 0' TERM INT
  while :; do
    "$dir/calico-felix" -c "$fd/felix.cfg" &
    child=$!
    rc=0; wait "$child" || rc=$?
    child=
    # 129: Felix exits to reload its config (or after datastore trouble) and expects a
    # supervisor to start it again.
    echo "calico.sh: felix exited with status $rc; restarting in 2s" >&2
    sleep 2
  done
  ;;
felix-ready)
  n=${2:?usage: calico.sh felix-ready NODE}
  inns "$n" busybox wget -q -O /dev/null "http://127.0.0.1:$felix_health_port/readiness"
  ;;
felix-off)
  n=${2:?usage: calico.sh felix-off NODE}
  f=$RUN/pids/felix-$n.pid
  if alive "felix-$n"; then
    read -r pid _ < "$f"
    kill "$pid"
    for _ in $(seq 50); do alive "felix-$n" || break; sleep 0.2; done
    alive "felix-$n" && die "felix-$n (pid $pid) did not stop"
    log "stopped felix-$n (pid $pid)"
  fi
  rm -f "$f"
  # Without Felix its dispatch chains would drop the traffic of every new pod (an unknown
  # cali* interface): remove its chains, the jumps to them and its rules in the built-in
  # chains (comment "cali:..."), table by table, leaving kube-proxy's and up.sh's rules.
  for t in raw mangle nat filter; do
    rules=$(inns "$n" iptables-save -t "$t")
    grep -qE '^:cali-|--comment "?cali:' <<<"$rules" || continue
    grep -vE '^:cali-|^-A cali-|-[jg] cali-|--comment "?cali:' <<<"$rules" | inns "$n" iptables-restore -T "$t"
  done
  for set in $(inns "$n" ipset list -n | grep '^cali'); do inns "$n" ipset destroy "$set"; done
  log "removed Felix's rules and ipsets on $n"
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
*) die "usage: calico.sh apply BUILD_DIR | conflist NODE CIDR IPAM_DIR | node NODE | felix NODE BUILD_DIR | felix-ready NODE | felix-off NODE" ;;
esac
