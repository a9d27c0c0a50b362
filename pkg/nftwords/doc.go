// Package nftwords words an nftables rule as a person types it: in iptables-save's words
// for a rule iptables-nft wrote (its xt match and target info decoded by the kernel's
// layout), else in nft's. Both the pod's and the node's netfilter readers use it.
package nftwords
