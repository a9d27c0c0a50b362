package cluster

import _ "github.com/netdiff/kubectl-netdiff/plugins/services" // the Services the probes reached
