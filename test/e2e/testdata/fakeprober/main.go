// Command fakeprober stands in for netdiff-prober in the fault tests: it idles like the
// real one, and its collect prints what /mode asks for (garbage, a report of another
// schema version, or a truncated report), so the plugin's handling of a wrong prober image
// is tested against the real exec path.
package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	switch os.Args[1] {
	case "idle":
		for {
			time.Sleep(time.Hour)
		}
	case "version":
		fmt.Println("fakeprober")
		return
	}
	mode, _ := os.ReadFile("/mode")
	switch strings.TrimSpace(string(mode)) {
	case "garbage":
		fmt.Println("<html><body>503 this is not a netdiff report</body></html>")
	case "schema":
		fmt.Println(`{"schemaVersion":"netdiff.report/v999","sections":{"routes":{}}}`)
	case "truncated":
		fmt.Print(`{"schemaVersion":"netdiff.report/v1","sections":{"routes":{"v4":[{"dst":"10.`)
	}
}
