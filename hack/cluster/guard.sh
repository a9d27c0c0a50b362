# The stopped-cluster guard, sourced by down.sh (guard_on) and up.sh (guard_off), after
# env.sh. While the cluster is down nothing may reach its addresses by mistake: a stale
# kubeconfig, a test or a script would otherwise send its packets to 10.99.0.1 and the pod
# and service ranges through the machine's default route, off the machine. So down.sh
#   1. adds an "unreachable" route for each of the cluster's ranges (the LAN, the pods,
#      the services) to the machine's main table: a connect fails at once, locally, with
#      EHOSTUNREACH ("no route to host"), and no packet leaves;
#   2. moves every kubeconfig in $RUN aside (NAME.kubeconfig -> NAME.kubeconfig.stopped),
#      so no usable kubeconfig is left behind, also after a reboot (which drops the routes).
# up.sh removes the routes before it builds the network and writes fresh kubeconfigs.
# The routes are marked with their own protocol number (GUARD_PROTO) and only those are
# removed. docs/cluster.md ("A stopped cluster") and docs/security.md say why.

GUARD_PROTO=${GUARD_PROTO:-177}
LAN_CIDR=${LAN_CIDR:-10.99.0.0/24}
guard_ranges() { echo "$LAN_CIDR" "$POD_CIDR" "$SERVICE_CIDR"; }

guard_on() {
  local cidr f
  for cidr in $(guard_ranges); do
    ip route replace unreachable "$cidr" proto "$GUARD_PROTO" || return 1
  done
  if [[ -d $RUN ]]; then
    for f in "$RUN"/*.kubeconfig; do
      [[ -e $f ]] && mv -f "$f" "$f.stopped"
    done
  fi
  log "guard: $(guard_ranges) unreachable until the next up; kubeconfigs moved to *.kubeconfig.stopped"
}

guard_off() {
  local cidr
  for cidr in $(guard_ranges); do
    # Nothing to remove when the guard is not on (a new machine, a cluster never stopped).
    ip route del unreachable "$cidr" proto "$GUARD_PROTO" 2>/dev/null || true
  done
  return 0
}
