// Package all registers every probe plugin; import it for its side effect. Each plugin
// adds one file here (plugins/all/<name>.go) that imports its folder.
package all
