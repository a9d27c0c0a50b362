#!/usr/bin/env bash
# A plugin is a leaf: in a temporary copy of the tree with the named plugin folders and
# their plugins/all files removed, everything still builds and the other plugins' tests
# pass (docs/development.md). make unit runs it for two plugins.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
(( $# > 0 )) || { echo "usage: $0 PLUGIN..." >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$repo"
# Tracked and new files as they are in the work tree (a file deleted there stays deleted).
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
  xargs -0 cp --parents -t "$tmp"
for p in "$@"; do
  [[ -d $tmp/plugins/$p ]] || { echo "no plugin $p" >&2; exit 2; }
  # plugins/all/<name>.go registers a prober section, plugins/all/cluster/<name>.go one
  # read from the API.
  rm -rf "${tmp:?}/plugins/$p" "$tmp/plugins/all/$p.go" "$tmp/plugins/all/cluster/$p.go"
  echo "removed plugins/$p and its plugins/all file"
done
cd "$tmp"
go build ./...
go vet ./plugins/...
go test -count=1 ./plugins/...
