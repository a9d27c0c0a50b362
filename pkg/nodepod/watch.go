package nodepod

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// MaxWatch bounds a node pod's watch window (the prober's --window bound).
const MaxWatch = 5 * time.Minute

// WatchArgs are the collect flags of a node pod's watch beside subject's probe window:
// the sections (those registered with a node watch), subject's IPs, the probe targets
// (the pod's --target and --gentle-target flags), and the bound of the window.
func WatchArgs(subject *corev1.Pod, sections, targetArgs []string, bound time.Duration) ([]string, error) {
	args := []string{"--quiet", "--window", min(bound, MaxWatch).String()}
	for _, s := range sections {
		args = append(args, "--only", s)
	}
	n := 0
	for _, ip := range subject.Status.PodIPs {
		args = append(args, "--pod-ip", ip.IP)
		n++
	}
	if n == 0 && subject.Status.PodIP != "" {
		args = append(args, "--pod-ip", subject.Status.PodIP)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("pod %s/%s has no IP yet: its node cannot be watched for it", subject.Namespace, subject.Name)
	}
	for i := 0; i+1 < len(targetArgs); i++ {
		switch targetArgs[i] {
		case "--target", "--gentle-target":
			args = append(args, targetArgs[i], targetArgs[i+1])
			i++
		}
	}
	return args, nil
}

// Watch runs a watch in the node pod (args from WatchArgs) whose window opens (opened is
// called) before the pod's probes and closes when end closes; it returns the node pod's
// report. After a NoWait start it execs as soon as the container runs.
func (p *Pod) Watch(ctx context.Context, args []string, opened func(), end <-chan struct{}) (*report.Report, error) {
	return p.runner.WatchCollect(ctx, p.pod, Container, args, opened, end, p.waitErr)
}
