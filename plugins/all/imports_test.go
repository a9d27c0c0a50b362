package all

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/netdiff/kubectl-netdiff/"

// knownEdges are the plugin-to-plugin imports that remain: none. Keep it empty.
var knownEdges = []string{}

// engines are the packages that run plugins; plugins import pkg/contract instead.
var engines = map[string]bool{"pkg/diff": true, "pkg/diagnosis": true, "pkg/engine": true}

// badEdges lists the imports that break the layout: pkg/... importing plugins/..., a main
// importing a plugin other than through plugins/all, or a plugin importing a folder that
// is not its own (plugins/all registers them all). lines
// are `go list -f '{{.ImportPath}} {{join .Imports " "}}'` output.
func badEdges(lines string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		from := strings.TrimPrefix(f[0], module)
		for _, imp := range f[1:] {
			to, ok := strings.CutPrefix(imp, module)
			if ok && strings.HasPrefix(from, "plugins/") && engines[to] {
				// A plugin writes against the contract, never the engines that run it.
				out = append(out, from+" -> "+to)
				continue
			}
			if !ok || !strings.HasPrefix(to, "plugins/") {
				continue
			}
			switch {
			case strings.HasPrefix(from, "pkg/"):
				out = append(out, from+" -> "+to)
			case strings.HasPrefix(from, "cmd/") && !aggregator(to):
				out = append(out, from+" -> "+to)
			case strings.HasPrefix(from, "plugins/") && !aggregator(from):
				own := strings.Join(strings.SplitN(from, "/", 3)[:2], "/")
				if to != own && !strings.HasPrefix(to, own+"/") {
					out = append(out, from+" -> "+to)
				}
			}
		}
	}
	return out
}

// aggregator tells the packages that register plugins for a binary: plugins/all (the
// prober's sections, linked into both binaries) and plugins/all/cluster (the sections
// read from the API, kubectl-netdiff's only).
func aggregator(path string) bool {
	return path == "plugins/all" || strings.HasPrefix(path, "plugins/all/")
}

func TestPluginsAreLeaves(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, e := range badEdges(string(out)) {
		if !slices.Contains(knownEdges, e) {
			t.Errorf("%s: a plugin imports only pkg/... and its own folder, and pkg/ never imports plugins/ (docs/development.md): move what both need to pkg/", e)
		}
	}
	for _, e := range knownEdges {
		if !slices.Contains(badEdges(string(out)), e) {
			t.Errorf("%s is gone: take it off knownEdges", e)
		}
	}
}

// The check itself fails on the imports it is there to refuse.
func TestBadEdgesRefusesCrossImports(t *testing.T) {
	lines := module + "plugins/events " + module + "pkg/netstate " + module + "plugins/routes\n" +
		module + "pkg/nodepod " + module + "plugins/interfaces\n" +
		module + "plugins/connect " + module + "plugins/connect/sub fmt\n" +
		module + "plugins/all " + module + "plugins/dns\n" +
		module + "plugins/all/cluster " + module + "plugins/pod\n" +
		module + "cmd/y " + module + "plugins/all/cluster\n" +
		module + "cmd/x " + module + "plugins/all " + module + "plugins/dns\n" +
		module + "plugins/routes " + module + "pkg/contract " + module + "pkg/diff\n"
	got := badEdges(lines)
	want := []string{"plugins/events -> plugins/routes", "pkg/nodepod -> plugins/interfaces", "cmd/x -> plugins/dns", "plugins/routes -> pkg/diff"}
	if !slices.Equal(got, want) {
		t.Errorf("badEdges = %v, want %v", got, want)
	}
}
