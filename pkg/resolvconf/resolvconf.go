package resolvconf

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MaxNameservers is how many nameservers glibc and musl use (MAXNS); later lines are ignored
// by the resolver, so they are kept apart in Ignored rather than silently dropped.
const MaxNameservers = 3

// maxLineBytes bounds a single line; resolv.conf lines are short, a huge one is garbage.
const maxLineBytes = 64 * 1024

// Config is the resolver configuration as the C libraries interpret it.
type Config struct {
	// Nameservers in file order, at most MaxNameservers (what the resolver uses).
	Nameservers []string `json:"nameservers"`
	// Search is the effective search list: the last "search" or "domain" line wins.
	Search []string `json:"search"`
	// Options are the option tokens of every "options" line in order ("ndots:5", "edns0").
	Options []string `json:"options"`
	// Sortlist, when present, reorders getaddrinfo answers (glibc only).
	Sortlist []string `json:"sortlist,omitempty"`
	// Ignored are nameserver lines beyond MaxNameservers.
	Ignored []string `json:"ignored,omitempty"`
	// Unknown are lines with a keyword the resolvers do not know, kept for the diff.
	Unknown []string `json:"unknown,omitempty"`
}

// Parse reads a resolv.conf. It never fails on content the resolvers would tolerate;
// it fails only on read errors or absurdly long lines.
func Parse(r io.Reader) (*Config, error) {
	c := &Config{Nameservers: []string{}, Search: []string{}, Options: []string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLineBytes)
	for sc.Scan() {
		line := sc.Text()
		// Both '#' and ';' start a comment anywhere on a line, as in glibc's res_init.
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				continue
			}
			if len(c.Nameservers) < MaxNameservers {
				c.Nameservers = append(c.Nameservers, f[1])
			} else {
				c.Ignored = append(c.Ignored, f[1])
			}
		case "domain":
			if len(f) >= 2 {
				c.Search = []string{f[1]}
			}
		case "search":
			c.Search = append([]string{}, f[1:]...)
		case "options":
			c.Options = append(c.Options, f[1:]...)
		case "sortlist":
			c.Sortlist = append(c.Sortlist, f[1:]...)
		default:
			if len(c.Unknown) < 50 {
				c.Unknown = append(c.Unknown, strings.Join(f, " "))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read resolv.conf: %w", err)
	}
	return c, nil
}

// Option returns the value of a "name:value" option (the last one wins, as in the resolvers)
// and whether it was set. A bare option ("edns0") returns "" and true.
func (c *Config) Option(name string) (string, bool) {
	val, found := "", false
	for _, o := range c.Options {
		k, v, _ := strings.Cut(o, ":")
		if k == name {
			val, found = v, true
		}
	}
	return val, found
}

// Ndots is the effective ndots value: the option when it parses, else the default 1.
// Both glibc and musl cap it at 15.
func (c *Config) Ndots() int {
	v, ok := c.Option("ndots")
	if !ok {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 1
	}
	return min(n, 15)
}

// Path is where the target process pid finds its resolv.conf: through its root, which is
// the container's filesystem when pid lives in another mount namespace.
func Path(proc string, pid int) string {
	return filepath.Join(proc, strconv.Itoa(pid), "root", "etc", "resolv.conf")
}

// ReadTarget reads and parses resolv.conf as process pid sees it. The error wraps the
// os error, so callers can record ENOENT vs EACCES.
func ReadTarget(proc string, pid int) (*Config, error) {
	f, err := os.Open(Path(proc, pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Path(proc, pid), err)
	}
	return c, nil
}
