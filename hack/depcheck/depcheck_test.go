package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/debpkg"
)

func commands(uses []Use) []string {
	var out []string
	for _, u := range uses {
		out = append(out, u.Command)
	}
	return out
}

func TestScanShell(t *testing.T) {
	src := `
helper() { echo hi; }
set -e
innode nft list ruleset
nsenter --net=/run/netns/x -- tc qdisc show
ip netns exec ns1 conntrack -L
x=$(jq -r .a f | sort)
"$bin" --flag
helper
[[ -f x ]] && timeout 5 curl -s http://127.0.0.1/
`
	uses, funcs, err := ScanShell("x.sh", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"innode", "nft", "nsenter", "tc", "ip", "conntrack", "jq", "sort", "timeout", "curl"}
	if got := commands(uses); !slices.Equal(got, want) {
		t.Errorf("commands = %v, want %v", got, want)
	}
	if !funcs["helper"] {
		t.Errorf("helper not seen as a function: %v", funcs)
	}
}

func TestScanGo(t *testing.T) {
	src := "package x\n" + `
func f(ns *NS, t *testing.T, ctx context.Context, bin string) {
	exec.Command("nft", "list", "ruleset")
	exec.CommandContext(ctx, "ss", "-tan")
	exec.Command(bin, "version")
	ns.Exec("sh", "-c", "iptables -A OUTPUT -j REJECT && sleep 1")
	ns.Exec(append([]string{"ethtool"}, args...)...)
	ns.Start("socat", "-", "-")
	timer.Start(ctx, "300ms")
	run(t, "ip", "link")
}
`
	uses, err := ScanGo("x.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"nft", "ss", "iptables", "sleep", "sh", "ethtool", "socat", "ip"}
	if got := commands(uses); !slices.Equal(got, want) {
		t.Errorf("commands = %v, want %v", got, want)
	}
}

// The check must fail for a command no package lists, and for a listed command that dpkg
// says belongs to another package.
func TestCheckFails(t *testing.T) {
	l := &debpkg.List{Provider: map[string]string{"nft": "nftables", "go": debpkg.Toolchain}, Project: map[string]bool{"kubectl-netdiff": true}}
	uses := []Use{{"nft", "a.sh:1"}, {"go", "b.go:2"}, {"kubectl-netdiff", "c.go:3"}, {"tcpdump", "d_test.go:4"}}
	owner := func(cmd string) (string, error) {
		if cmd == "nft" {
			return "nftables-legacy", nil
		}
		t.Fatalf("owner asked about %s", cmd)
		return "", nil
	}
	got := Check(uses, l, owner)
	if len(got) != 2 || !strings.Contains(got[0], `d_test.go:4 execs "tcpdump"`) || !strings.Contains(got[1], "nft is listed under nftables but comes from nftables-legacy") {
		t.Errorf("Check = %q", got)
	}
	if got := Check(uses[:3], l, func(string) (string, error) { return "nftables", nil }); len(got) != 0 {
		t.Errorf("clean uses: %q", got)
	}
}

// The tree itself passes the check (without dpkg: that part runs in make unit).
func TestTreeIsListed(t *testing.T) {
	l, err := debpkg.Read("../packages.txt")
	if err != nil {
		t.Fatal(err)
	}
	uses, err := Scan("../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) < 50 {
		t.Fatalf("only %d command uses found: the scanner lost its way", len(uses))
	}
	for _, p := range Check(uses, l, nil) {
		t.Error(p)
	}
}
