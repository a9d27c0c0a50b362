// Package netstate holds the value types that sections of a report are composed of (a
// link and its addresses, a route, a policy rule) and their conversion from netlink, so
// that every section holding one (interfaces, routes, events, nodeside) shares one
// definition and no plugin imports another.
package netstate
