// Package cluster registers the sections kubectl-netdiff reads from the Kubernetes API
// (pkg/apisection); import it for its side effect. Only kubectl-netdiff links it: the
// prober imports no Kubernetes package. Each such plugin adds one file here.
package cluster
