// Package resolvconf parses resolv.conf(5) the way the C resolvers read it, and reads the
// copy a target process sees through /proc/PID/root. Shared by the dnsconfig facts and the
// DNS query probes so both agree on the nameservers.
package resolvconf
