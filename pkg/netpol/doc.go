// Package netpol decides whether NetworkPolicies (Kubernetes' own, and Calico's
// projectcalico.org/v3 kinds) admit one flow, at the source's egress and the destination's
// ingress, and names the policy and rule that decide it. Pure logic: no client.
package netpol
