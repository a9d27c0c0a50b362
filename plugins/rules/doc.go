// Package rules reports the policy routing rules (`ip rule`) of both families with every
// selector, and explains a rule that only some subjects have.
package rules
