package contract

import (
	"fmt"
	"regexp"
	"strings"
)

// HeadlineBudget is the most characters of words a top-level cause's headline (its
// message, effect included) holds (docs/findings.md). The syntax a person types, in
// backticks (a rule, a route, a line of a file), is as long as the thing it names and is
// not counted.
const HeadlineBudget = 160

// WordsLength is the length of msg outside its backticked syntax.
func WordsLength(msg string) int {
	return len(codeSpan.ReplaceAllString(msg, ""))
}

var codeSpan = regexp.MustCompile("`[^`]*`")

// Plural is one or many by n: Plural(1, "rule", "rules") is "rule".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Count is n with its noun: "1 rule", "3 rules".
func Count(n int, one, many string) string { return fmt.Sprintf("%d %s", n, Plural(n, one, many)) }

// Article is "a" or "an" for the word that follows it ("an unreachable route", "an
// IPv4 default route", "a blackhole route").
func Article(word string) string {
	w := strings.ToLower(strings.TrimLeft(word, "`\"'("))
	switch {
	case w == "":
		return "a"
	case strings.HasPrefix(w, "ipv"), strings.HasPrefix(w, "icmp"), strings.HasPrefix(w, "nft"), strings.HasPrefix(w, "mtu"):
		return "an"
	case strings.HasPrefix(w, "uni"), strings.HasPrefix(w, "use"), strings.HasPrefix(w, "udp"):
		return "a"
	case strings.ContainsRune("aeiou", rune(w[0])):
		return "an"
	}
	return "a"
}

// Times: "once", "twice", "3 times".
func Times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}
