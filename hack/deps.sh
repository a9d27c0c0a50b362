#!/usr/bin/env bash
# Installs every Debian package in hack/packages.txt that is missing: the one dependency
# step that make unit, test, e2e, demo and cluster-up run first. Idempotent, and quick
# when all are present (one dpkg-query; apt-get update only when something is missing).
set -euo pipefail
list=$(cd "$(dirname "$0")" && pwd)/packages.txt
mapfile -t want < <(sed 's/#.*//' "$list" | awk '$1 !~ /^@/ && NF {print $1}')
# dpkg-query prints one status line per package it knows; unknown ones go to stderr.
mapfile -t have < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${want[@]}" 2>/dev/null | awk '$2 == "ii" {print $1}')
need=()
for p in "${want[@]}"; do
  [[ " ${have[*]} " == *" $p "* ]] || need+=("$p")
done
((${#need[@]})) || exit 0
[[ $(id -u) == 0 ]] || { echo "deps: missing Debian packages ${need[*]}; run hack/deps.sh as root (apt-get install)" >&2; exit 2; }
echo "deps: installing ${need[*]}" >&2
log=$(mktemp /tmp/netdiff-deps.XXXXXX.log)
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
  tail -20 "$log" >&2
  echo "deps: apt-get install ${need[*]} failed (full log: $log)" >&2
  exit 2
fi
rm -f "$log"
