#!/usr/bin/env bash
# Runs the e2e suite (test/e2e, build tag e2e). With NETDIFF_E2E_KUBECONFIG set it uses
# that cluster as it is (the prober image must already be there: NETDIFF_E2E_IMAGE names
# it, passed as --image); otherwise it brings up the local cluster, which also imports
# the prober image under the plugin's default reference.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
make -C "$repo" -s plugin prober
if [[ -z ${NETDIFF_E2E_KUBECONFIG:-} ]]; then
  kc=$("$here/up.sh" | tail -1)
  export NETDIFF_E2E_KUBECONFIG=${kc#KUBECONFIG=}
  export NETDIFF_E2E_LOCAL=1
  # The cluster up.sh made runs Felix: the policy tests may expect drops.
  if [[ $FELIX == 1 ]]; then export NETDIFF_E2E_POLICY=1; fi
fi
mkdir -p "$RUN"
cd "$repo"
# Quiet by default (failures in full, then the ok/FAIL line); NETDIFF_E2E_VERBOSE=1 for -v.
go test -tags e2e -count=1 -timeout 20m ${NETDIFF_E2E_VERBOSE:+-v} ${NETDIFF_E2E_RUN:+-run "$NETDIFF_E2E_RUN"} ./test/e2e/... 2>&1 | tee "$RUN/e2e.log"
exit "${PIPESTATUS[0]}"
