// Command depcheck fails when a test, tool or script of the project execs a command that
// no line of hack/packages.txt provides, or that the package it names does not provide on
// this machine: the guard that keeps CI green on a brand-new machine (see docs/development.md).
//
//	go run ./hack/depcheck [-root DIR] [-list hack/packages.txt]
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/netdiff/kubectl-netdiff/internal/debpkg"
)

func main() {
	root := flag.String("root", ".", "the checkout to scan")
	list := flag.String("list", "hack/packages.txt", "the package list")
	verify := flag.Bool("verify", true, "also ask dpkg that each command really comes from its listed package")
	verbose := flag.Bool("v", false, "list every command and where it is exec'd")
	flag.Parse()
	pkgs, err := debpkg.Read(*list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "depcheck:", err)
		os.Exit(2)
	}
	uses, err := Scan(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "depcheck:", err)
		os.Exit(2)
	}
	var owner func(string) (string, error)
	if *verify {
		owner = debpkg.Owner
	}
	problems := Check(uses, pkgs, owner)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "depcheck:", p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "depcheck: %d problem(s); add the command to %s under the Debian package that provides it (dpkg -S $(command -v CMD))\n", len(problems), *list)
		os.Exit(1)
	}
	cmds := map[string]bool{}
	for _, u := range uses {
		cmds[u.Command] = true
		if *verbose {
			fmt.Printf("%-16s %s\n", u.Command, u.Where)
		}
	}
	fmt.Printf("depcheck: %d external commands in %d places, each provided by a listed package\n", len(cmds), len(uses))
}

// Check returns one line per command that no listed package provides and, with owner
// set, per listed command that its package does not really provide here.
func Check(uses []Use, pkgs *debpkg.List, owner func(cmd string) (string, error)) []string {
	var problems []string
	seen := map[string]bool{}
	var cmds []string
	for _, u := range uses {
		if pkgs.Project[u.Command] {
			continue
		}
		if _, ok := pkgs.Provider[u.Command]; !ok {
			problems = append(problems, fmt.Sprintf("%s execs %q, which no package in the list provides", u.Where, u.Command))
			continue
		}
		if !seen[u.Command] {
			seen[u.Command] = true
			cmds = append(cmds, u.Command)
		}
	}
	if owner == nil {
		return problems
	}
	sort.Strings(cmds)
	for _, c := range cmds {
		want := pkgs.Provider[c]
		if want == debpkg.Toolchain {
			continue
		}
		got, err := owner(c)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s (package %s): %v; run hack/deps.sh", c, want, err))
		case got != want:
			problems = append(problems, fmt.Sprintf("%s is listed under %s but comes from %s here", c, want, got))
		}
	}
	return problems
}
