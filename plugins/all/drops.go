package all

import _ "github.com/netdiff/kubectl-netdiff/plugins/drops"
