// Package e2e holds the end-to-end tests (build tag e2e) that drive bin/kubectl-netdiff
// and kubectl against a real cluster. Run them with `make e2e`; see docs/cluster.md.
package e2e
