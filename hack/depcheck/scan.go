package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Use is one external command the project execs, and where.
type Use struct {
	Command string
	Where   string // file:line
}

// wrappers run their arguments as a command: the command that matters is after them.
// The value says how many words (after the wrapper's name) to skip first; -1 means
// "up to and including --".
var wrappers = map[string]int{
	"innode": 0, "timeout": 1, "nohup": 0, "setsid": 0, "exec": 0, "command": 0, "nice": 0,
	"nsenter": -1, "unshare": -1, "xargs": 0,
}

// ScanShell lists the commands a shell script runs (first words of simple commands, and
// the command behind the wrappers above), skipping builtins, and the functions it defines.
func ScanShell(name string, src []byte) (uses []Use, funcs map[string]bool, err error) {
	f, err := syntax.NewParser(syntax.KeepComments(false)).Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", name, err)
	}
	funcs = map[string]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if fd, ok := n.(*syntax.FuncDecl); ok {
			funcs[fd.Name.Value] = true
		}
		return true
	})
	syntax.Walk(f, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		words := make([]string, len(call.Args))
		for i, w := range call.Args {
			words[i] = w.Lit() // "" where the word is not a plain literal ($x, "$@", …)
		}
		for _, c := range commandsOf(words) {
			if c == "" || funcs[c] || interp.IsBuiltin(c) || isKeyword(c) || strings.ContainsAny(c, "/=") {
				continue
			}
			uses = append(uses, Use{c, fmt.Sprintf("%s:%d", name, call.Pos().Line())})
		}
		return true
	})
	return uses, funcs, nil
}

// commandsOf returns the command a word list runs and, through wrappers and `ip netns
// exec NS`, the command it runs in turn.
func commandsOf(words []string) []string {
	if len(words) == 0 || words[0] == "" {
		return nil
	}
	out := []string{words[0]}
	rest := words[1:]
	switch skip, ok := wrappers[words[0]]; {
	case ok && skip == -1:
		i := slices.Index(rest, "--")
		if i < 0 {
			return out
		}
		rest = rest[i+1:]
	case ok:
		for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
			rest = rest[1:]
		}
		rest = rest[min(skip, len(rest)):]
	case words[0] == "ip" && len(rest) >= 3 && rest[0] == "netns" && rest[1] == "exec":
		rest = rest[3:]
	default:
		return out
	}
	if words[0] == "exec" || words[0] == "command" {
		out = nil // builtins; what they run is what counts
	}
	return append(out, commandsOf(rest)...)
}

func isKeyword(s string) bool {
	switch s {
	case "!", "[[", "]]", "{", "}", "if", "then", "else", "elif", "fi", "for", "in", "do", "done",
		"while", "until", "case", "esac", "function", "select", "time", "coproc":
		return true
	}
	return false
}

// execCalls are the functions and methods whose arguments are a command line: os/exec's
// and the netnstest helpers' (ns.Exec, ns.Start, ns.Command, run).
var execCalls = map[string]bool{"Command": true, "CommandContext": true, "Exec": true, "Start": true, "run": true}

// commandName is what a command looks like; the helpers' other methods of the same names
// take durations, flags or errno names.
var commandName = regexp.MustCompile(`^[a-z][a-z0-9_.+-]*$`)

// ScanGo lists the commands a Go file execs with literal names, including the commands
// of literal scripts passed to `sh -c`.
func ScanGo(name string, src []byte) ([]Use, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, 0)
	if err != nil {
		return nil, err
	}
	var uses []Use
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || !execCalls[funcName(call.Fun)] {
			return true
		}
		sel, _ := call.Fun.(*ast.SelectorExpr)
		pkg, _ := func() (*ast.Ident, bool) {
			if sel == nil {
				return nil, false
			}
			id, ok := sel.X.(*ast.Ident)
			return id, ok
		}()
		osExec := pkg != nil && pkg.Name == "exec"
		words := literalWords(call.Args)
		if len(words) == 0 {
			return true
		}
		line := fset.Position(call.Pos()).Line
		if (words[0] == "sh" || words[0] == "bash") && len(words) > 2 && words[1] == "-c" && words[2] != "" {
			script, _, err := ScanShell(fmt.Sprintf("%s:%d", name, line), []byte(words[2]))
			if err == nil {
				uses = append(uses, script...)
			}
		}
		if !osExec && !commandName.MatchString(words[0]) {
			return true // a method that happens to be called Start or run, with other arguments
		}
		for _, c := range commandsOf(words) {
			if c != "" && !strings.Contains(c, "/") {
				uses = append(uses, Use{c, fmt.Sprintf("%s:%d", name, line)})
			}
		}
		return true
	})
	return uses, nil
}

func funcName(e ast.Expr) string {
	switch f := e.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// literalWords turns call arguments into words: string literals as themselves, a leading
// context or testing.T (anything not a string) dropped, `append([]string{...}, x...)` as
// its literal elements, any other expression as "" (unknown).
func literalWords(args []ast.Expr) []string {
	var words []string
	for _, a := range args {
		switch v := a.(type) {
		case *ast.BasicLit:
			if s, err := strconv.Unquote(v.Value); err == nil && v.Kind == token.STRING {
				words = append(words, s)
				continue
			}
		case *ast.CallExpr:
			if funcName(v.Fun) == "append" && len(v.Args) > 0 {
				if cl, ok := v.Args[0].(*ast.CompositeLit); ok {
					words = append(words, literalWords(cl.Elts)...)
					continue
				}
			}
		}
		if len(words) > 0 {
			words = append(words, "")
		}
		// Before the first string: ctx, t, a variable holding the binary (skipped).
		if len(words) == 0 && isNameArg(a) {
			return nil
		}
	}
	return words
}

// isNameArg tells whether an argument before any string is the command name itself (a
// variable such as x.kubectl or bin): then the command is not literal and is skipped.
func isNameArg(a ast.Expr) bool {
	switch v := a.(type) {
	case *ast.Ident:
		return v.Name != "ctx" && v.Name != "t" && v.Name != "tb"
	case *ast.SelectorExpr:
		if x, ok := v.X.(*ast.Ident); ok && (x.Name == "context" || x.Name == "ns") {
			return false
		}
		return v.Sel.Name != "t"
	case *ast.CallExpr:
		return funcName(v.Fun) != "Background" && funcName(v.Fun) != "TODO"
	}
	return false
}

// Scan walks the tree and returns every command use, in file order, leaving out the
// shell functions that any script defines (env.sh's are used by the scripts sourcing it).
func Scan(root string) ([]Use, error) {
	var uses []Use
	funcs := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "_out", "dist", "bin", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		var found []Use
		switch {
		case strings.HasSuffix(path, ".go"):
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if found, err = ScanGo(rel, src); err != nil {
				return err
			}
		case strings.HasSuffix(path, ".sh") || rel == filepath.Join(".ci", "run"):
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var defined map[string]bool
			if found, defined, err = ScanShell(rel, src); err != nil {
				return err
			}
			maps.Copy(funcs, defined)
		}
		uses = append(uses, found...)
		return nil
	})
	return slices.DeleteFunc(uses, func(u Use) bool { return funcs[u.Command] }), err
}
