// Package routes reports every route of every table, IPv4 and IPv6, including the
// reject types, and explains the differences that make connects fail (no default route).
package routes
