package cluster

import _ "github.com/netdiff/kubectl-netdiff/plugins/pod" // the pod, its policies and what they decide
