#!/usr/bin/env bash
# Tears the local cluster down and puts the machine back as up.sh found it: stops only the
# processes up.sh recorded (and the containers their containerds started), unmounts what the
# kubelets mounted, deletes the node and LAN network namespaces (their veths, addresses and
# iptables rules go with them), removes paths the kubelets created outside the run
# directory and restores the sysctls they changed. Then it guards the stopped cluster
# (guard.sh): its ranges unreachable, its kubeconfigs moved aside until the next up.
# Safe to rerun; --purge also removes $RUN.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
. "$here/guard.sh"

stop() { # name: TERM, then KILL after 10s, only the recorded process (same PID and start time)
  local f=$RUN/pids/$1.pid pid
  [[ -f $f ]] || return 0
  read -r pid _ < "$f"
  if alive "$1"; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do alive "$1" || break; sleep 0.2; done
    alive "$1" && kill -9 "$pid" 2>/dev/null
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$f"
}

# Felix first: what it programmed (chains, ipsets, routes, the VXLAN device) lives in the
# node's namespace and goes with it below.
for n in "${NODES[@]}"; do stop "felix-$n"; stop "kubelet-$n"; stop "kube-proxy-$n"; done
stop kube-controller-manager
stop kube-scheduler
# Containers outlive the kubelet and containerd (their shims are separate processes):
# kill and delete every task of each node's containerd while it still answers.
for n in "${NODES[@]}"; do
  alive "containerd-$n" || continue
  export CTR_NODE=$n
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  for _ in $(seq 25); do
    [[ -z $(ctr_ tasks ls -q 2>/dev/null | head -1) ]] && break
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$t" >/dev/null 2>&1; done
    sleep 0.2
  done
  stop "containerd-$n"
  # Killed sandboxes never got a CNI DEL: free their addresses, or the range runs out.
  rm -rf "$(node_dir "$n")/cni/ipam"
done
stop kube-apiserver
stop etcd
# Containers of a containerd that was already gone (crashed, killed) outlive it: their
# processes are exactly those left in the kubelets' own cgroup roots.
for n in "${NODES[@]}"; do
  [[ -d /sys/fs/cgroup/pids/$n/kubepods ]] || continue
  find "/sys/fs/cgroup/pids/$n/kubepods" -name cgroup.procs -exec cat {} + | while read -r pid; do
    kill -9 "$pid" 2>/dev/null
  done
done

# Unmount everything under the run directory and the network namespaces CNI created for
# pods (deepest first), then the node and LAN namespaces themselves.
if [[ -d $RUN ]]; then
  awk -v r="$RUN/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
fi
# Only our containerds make cni-* namespaces on this machine (there is no other CRI).
for ns in /run/netns/cni-*; do
  [[ -e $ns ]] || continue
  umount "$ns" 2>/dev/null; rm -f "$ns"
done
for ns in "${NODES[@]}" "$LAN_NETNS"; do
  if [[ -e /run/netns/$ns ]]; then ip netns del "$ns" && log "deleted network namespace $ns"; fi
done
ip link del "$HOST_VETH" 2>/dev/null || true

# The kubelets' cgroup roots (cgroupfs driver): remove the empty trees they made.
for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice $(printf '/sys/fs/cgroup/*/%s ' "${NODES[@]}"); do
  [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
done

if [[ -f $RUN/host.saved ]]; then
  while read -r kind a b; do
    [[ $kind == sysctl ]] && sysctl -qw "$a=$b"
  done < "$RUN/host.saved"
  for p in "${OUTSIDE_PATHS[@]}"; do
    if [[ -e $p ]] && ! grep -qx "existed $p" "$RUN/host.saved"; then
      # Unmount anything left beneath it before removing it.
      awk -v r="$p/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
      rm -rf "$p"
    fi
  done
  rm -f "$RUN/host.saved"
fi
# Nothing may reach the cluster's addresses until the next up (guard.sh).
guard_on
if [[ ${1:-} == --purge ]]; then rm -rf "$RUN"; log "removed $RUN"; fi
log "down"
