package process

import "github.com/netdiff/kubectl-netdiff/pkg/contract"

// proxyVars are the environment variables that send HTTP clients elsewhere.
var proxyVars = []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}

// analysis: an HTTP probe is governed by the target process's proxy variables, and a
// probe run as the app by the app's identity (another uid meets other owner matches).
var analysis = contract.Analysis{Role: contract.State, Hop: func(contract.Row) contract.Hop { return contract.HopSocket }, Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.AsApp {
		return []string{"target/uid", "target/gid"}
	}
	if _, ok := c.Row("http", p.Target); !ok {
		return nil
	}
	out := make([]string, 0, len(proxyVars))
	for _, v := range proxyVars {
		out = append(out, "target/env/"+v)
	}
	return out
}}
