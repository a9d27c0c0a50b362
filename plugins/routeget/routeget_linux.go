package routeget

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/asapp"
	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// Collect looks up a route per target address, as the prober and, where the target
// process runs as another uid, as that uid.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	sec := &Section{Lookups: lookups(ctx, env, -1)}
	if env.AsApp == nil {
		return sec, nil
	}
	id, err := asapp.Read(env.Proc, env.PID)
	switch {
	case err != nil:
		sec.AsApp = &AsApp{UID: -1, Error: report.ErrorOf(fmt.Errorf("read the app's identity (pid %d): %w", env.PID, err))}
	case id.UID == os.Geteuid():
		sec.AsApp = &AsApp{UID: id.UID, Skipped: fmt.Sprintf("the app runs as uid %d, as the prober does", id.UID)}
	default:
		sec.AsApp = &AsApp{UID: id.UID, Lookups: lookups(ctx, env, id.UID)}
	}
	return sec, nil
}

// lookups asks the route of every target address, as uid (the caller's when uid < 0).
func lookups(ctx context.Context, env *probe.Env, uid int) []Lookup {
	out := []Lookup{}
	for _, t := range env.Targets {
		if t.Scheme == target.DNS {
			continue
		}
		res := netprobe.Resolve(ctx, t.Host)
		addrs := res.Addrs()
		if len(addrs) == 0 {
			l := Lookup{Target: t.String(), Resolve: res}
			l.Error = &report.Error{Message: "no address to look up"}
			if res.Error != nil {
				l.Error = res.Error
			}
			out = append(out, l)
			continue
		}
		proto, port := selectors(t)
		for _, a := range addrs {
			l := Lookup{Target: t.String(), Address: a.IP.String(), Family: a.Family, Key: a.Key(), Dport: port}
			if proto != 0 {
				l.IPProto = protoName(proto)
			}
			l.Route, l.Error = netprobe.RouteGetAs(a.IP, proto, port, uid)
			out = append(out, l)
		}
	}
	return out
}

func selectors(t target.Target) (proto uint8, port int) {
	switch t.Scheme {
	case target.TCP, target.HTTP, target.HTTPS:
		return unix.IPPROTO_TCP, t.Port
	case target.UDP:
		return unix.IPPROTO_UDP, t.Port
	case target.ICMP:
		return 0, 0
	}
	return 0, 0
}

func protoName(p uint8) string {
	switch p {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	}
	return strconv.Itoa(int(p))
}

// regatherWait is how long DefaultTargets waits before looking for a default gateway a
// second time: a route that flaps at a few Hz is absent for tens of milliseconds.
const regatherWait = 60 * time.Millisecond

// DefaultTargets offers the default gateways as icmp:// targets. IPv6 link-local gateways
// (fe80::/10) are left out: a target cannot carry the interface zone they need. So are
// IPv4 link-local ones (169.254.0.0/16: Calico's and Cilium's 169.254.1.1): no host owns
// that address, the node's veth only answers ARP for it (proxy ARP), so a ping is never
// answered and would only wait out its window (3.2 s a run on the local cluster); the
// neighbour entry and the routes show whether it works. Where there is no default route
// at all, it looks once more a moment later, so a default route that was away for an
// instant does not take the gateway off the targets; a default route whose gateways are
// all left out is no reason to wait (every Calico pod has one). Left alone: a dual-stack
// pod whose one family routes via a left-out gateway while the other family's default
// route is away for that instant is not looked at again.
func (*Plugin) DefaultTargets(ctx context.Context, env *probe.Env) []target.Target {
	out, routed := gateways(env)
	if !routed {
		select {
		case <-time.After(regatherWait):
			out, _ = gateways(env)
		case <-ctx.Done():
		}
	}
	return out
}

// gateways returns the default gateways worth a ping, and whether any default route was
// there (with such a gateway or not).
func gateways(env *probe.Env) (out []target.Target, routed bool) {
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlink.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			env.Logf("routeget: list %s routes for the default gateway: %v", famName(fam), err)
			continue
		}
		for _, r := range routes {
			if r.Dst != nil {
				if ones, _ := r.Dst.Mask.Size(); ones != 0 {
					continue
				}
			}
			routed = true
			gws := []net.IP{r.Gw}
			for _, nh := range r.MultiPath {
				gws = append(gws, nh.Gw)
			}
			for _, gw := range gws {
				if gw == nil || gw.IsUnspecified() || gw.IsLinkLocalUnicast() {
					continue
				}
				out = append(out, target.Target{Scheme: target.ICMP, Host: gw.String()})
			}
		}
	}
	return out, routed
}

func famName(f int) string {
	if f == netlink.FAMILY_V6 {
		return "IPv6"
	}
	return "IPv4"
}
