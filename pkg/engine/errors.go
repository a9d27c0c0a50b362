package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/podrun"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
)

// Exit codes follow kubectl diff.
const (
	ExitSame  = 0
	ExitDiffs = 1
	ExitError = 2
)

// rbacHint names the permission a Forbidden error at a step is about.
var rbacHint = map[string]string{
	"get pod":                 `"get" on "pods"`,
	"add ephemeral container": `"patch" on "pods/ephemeralcontainers"`,
	"wait for container":      `"list" and "watch" on "pods"`,
	"exec prober":             `"create" (and "get") on "pods/exec"`,
	"wait for node pod":       `"list" and "watch" on "pods"`,
}

// Explain turns an error into the message the user sees: which pod, which step, and what
// to do about it. It is the one place where errors get their user-facing words. The error's
// own text may carry a file name or a pod's words, so it is escaped onto one line
// (render.Sanitize); only the hints netdiff adds start new lines.
func Explain(err error, profile string) string {
	var se *podrun.StepError
	if !errors.As(err, &se) {
		return render.Sanitize(err.Error())
	}
	se = &podrun.StepError{Pod: render.Sanitize(se.Pod), NodePod: render.Sanitize(se.NodePod), Step: se.Step, Err: sanitizedError{se.Err}}
	var unknown *podrun.PodUnknownError
	switch {
	case errors.As(se.Err, &unknown):
		return fmt.Sprintf("%s\n  the API server has pod %s on node %s, but that node's kubelet does not know it: was the node restarted? The pod's Ready may be from before the restart. Rerun once the kubelet runs the pod again (`kubectl describe pod -n %s %s` shows its containers started after the node's start; or raise --timeout), or recreate the pod (delete it; its controller makes a new one)",
			se.Error(), se.Pod, unknown.Node, podNamespace(se.Pod), podName(se.Pod))
	case strings.Contains(se.Err.Error(), "violates PodSecurity"):
		return fmt.Sprintf("%s\n  Pod Security Admission rejected the prober container with profile %q; --profile=restricted passes every level (it runs as a non-root user, so some facts of a root app may be unreadable)", se.Error(), profile)
	case apierrors.IsForbidden(se.Err) || isForbiddenUpgrade(se.Err):
		perm := rbacHint[se.Step]
		if perm == "" {
			perm = "the permission this step needs"
		}
		where := "the pod's namespace"
		if se.NodePod != "" || strings.Contains(se.Step, "node pod") {
			where = "the node pods' namespace (--node-namespace, default the pod's)"
		}
		return fmt.Sprintf("%s\n  netdiff needs %s in %s; see docs/rbac.md for a least-privilege ClusterRole", se.Error(), perm, where)
	case apierrors.IsNotFound(se.Err) && se.Step == "get pod":
		return fmt.Sprintf("pod %s not found (check the name, -n/--namespace and --context)", se.Pod)
	case errors.Is(se.Err, inject.ErrUnsupported):
		return se.Error()
	case se.Step == "exec prober" && strings.Contains(se.Err.Error(), "exit code 137"):
		return fmt.Sprintf("%s\n  the prober was killed (SIGKILL) before it finished its report: the pod or its container was deleted or restarted, the pod hit its memory limit, or something in the pod killed it; check `kubectl describe pod %s` and rerun", se.Error(), se.Pod)
	case se.Step == "read report":
		return fmt.Sprintf("%s\n  the prober's output is not a report this plugin reads: check that --image names the netdiff prober image of this plugin's version (see `kubectl netdiff version`); a prober killed while writing its report ends the same way, so rerun if the image is right", se.Error())
	case errors.Is(se.Err, context.DeadlineExceeded):
		return fmt.Sprintf("%s\n  the prober did not finish within --timeout; raise --timeout (it must exceed --window by at least 5s)", se.Error())
	case apierrors.IsInvalid(se.Err) && se.Step == "add ephemeral container":
		return fmt.Sprintf("%s\n  the API server rejected the container; if Pod Security Admission is enforced, try --profile=restricted", se.Error())
	}
	return se.Error()
}

// sanitizedError is err with its text escaped; errors.Is and errors.As still see err.
type sanitizedError struct{ err error }

func (e sanitizedError) Error() string { return render.Sanitize(e.err.Error()) }
func (e sanitizedError) Unwrap() error { return e.err }

// isForbiddenUpgrade recognises an exec refused by RBAC: the streaming upgrade returns the
// API server's words as plain text ("unable to upgrade streaming request: pods "x" is
// forbidden: User …"), not as a Status the apierrors helpers understand.
func isForbiddenUpgrade(err error) bool {
	s := err.Error()
	return strings.Contains(s, "is forbidden: User ") || strings.Contains(s, "is forbidden: user ")
}

// podNamespace and podName split a StepError's "namespace/name".
func podNamespace(id string) string { ns, _, _ := strings.Cut(id, "/"); return ns }
func podName(id string) string {
	_, name, ok := strings.Cut(id, "/")
	if !ok {
		return id
	}
	return name
}
