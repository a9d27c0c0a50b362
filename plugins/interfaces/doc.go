// Package interfaces reports every network interface of the namespace (type, MTU, flags,
// state, addresses) and explains the differences that break connectivity: MTU, down links, DAD.
package interfaces
