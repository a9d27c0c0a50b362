// Package neighbours reports the ARP and NDP tables (state, link-layer address, router
// flag) and explains a default gateway that does not resolve.
package neighbours
