// Package debpkg reads hack/packages.txt, the one list of Debian packages whose commands the
// project's tests, tools and scripts exec, and asks dpkg which package owns a command.
package debpkg

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Toolchain is the pseudo-package of commands that come with Go at /usr/local/go.
const Toolchain = "@go"

// project marks commands the project builds itself (exec'd by bare name in tests).
const project = "@project"

// List maps each command to the package that provides it.
type List struct {
	Packages []string          // Debian packages, in file order (without the @ entries)
	Provider map[string]string // command -> package (or Toolchain)
	Project  map[string]bool   // commands built by the project
}

// Read parses the list: one package a line, followed by the commands it provides;
// '#' starts a comment.
func Read(path string) (*List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &List{Provider: map[string]string{}, Project: map[string]bool{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, cmds := fields[0], fields[1:]
		switch {
		case pkg == project:
			for _, c := range cmds {
				l.Project[c] = true
			}
			continue
		case pkg != Toolchain:
			l.Packages = append(l.Packages, pkg)
		}
		for _, c := range cmds {
			if prev, dup := l.Provider[c]; dup {
				return nil, fmt.Errorf("%s:%d: %s is listed under %s already", path, n, c, prev)
			}
			l.Provider[c] = pkg
		}
	}
	return l, sc.Err()
}

// ReadRepo reads the list of the module that contains dir.
func ReadRepo(dir string) (*List, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return Read(filepath.Join(d, "hack", "packages.txt"))
		}
		if filepath.Dir(d) == d {
			return nil, fmt.Errorf("no go.mod above %s", dir)
		}
	}
}

// Hint says how to get a missing command: its package and the script that installs it.
func (l *List) Hint(cmd string) string {
	if p, ok := l.Provider[cmd]; ok && p != Toolchain {
		return fmt.Sprintf("%s comes from the Debian package %s: run hack/deps.sh (or apt-get install %s)", cmd, p, p)
	}
	return fmt.Sprintf("%s is in no package of hack/packages.txt: add it there, then run hack/deps.sh", cmd)
}

// Owner returns the Debian package that owns the command found on PATH, following
// symlinks (update-alternatives) and the /usr merge (a file dpkg knows as /sbin/x may be
// found as /usr/sbin/x).
func Owner(cmd string) (string, error) {
	path, err := exec.LookPath(cmd)
	if err != nil {
		return "", fmt.Errorf("not found on PATH")
	}
	var tried []string
	for _, p := range candidates(path) {
		tried = append(tried, p)
		out, err := exec.Command("dpkg-query", "-S", p).Output()
		if err != nil {
			continue
		}
		// "pkg[:arch][, pkg2]: /path", after "diversion by pkg from/to: ..." lines
		for _, line := range strings.Split(string(out), "\n") {
			if line == "" || strings.HasPrefix(line, "diversion ") {
				continue
			}
			first, _, _ := strings.Cut(line, ": ")
			first, _, _ = strings.Cut(first, ",")
			first, _, _ = strings.Cut(first, ":")
			return strings.TrimSpace(first), nil
		}
	}
	return "", fmt.Errorf("no Debian package owns %s", strings.Join(tried, " or "))
}

func candidates(path string) []string {
	paths := []string{path}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
		paths = append(paths, real)
	}
	var out []string
	for _, p := range paths {
		out = append(out, p)
		if rest, ok := strings.CutPrefix(p, "/usr"); ok {
			out = append(out, rest)
		} else {
			out = append(out, "/usr"+p)
		}
	}
	return out
}
