#!/usr/bin/env bash
# The cluster's packages are in the project's one list (hack/packages.txt); kubectl comes
# with the machine image (the kubectl package).
set -euo pipefail
"$(dirname "$0")/../deps.sh"
command -v kubectl >/dev/null || { echo "cluster: kubectl not found on PATH (Debian package kubectl, expected /usr/bin/kubectl)" >&2; exit 2; }
