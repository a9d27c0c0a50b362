// Package kexec runs a command in a container through the API server the way kubectl exec
// does today: WebSocket first, SPDY when the server or a proxy cannot upgrade.
package kexec

import (
	"context"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// Exec runs command in the container and streams its output; it returns when the command
// exits or ctx ends. A non-zero exit is an error whose text carries the exit code.
//
// The command's stdin stays open and silent for as long as the exec lasts: when ctx ends,
// the stream is torn down and the command sees EOF, which is how a prober started with
// --stdin-watch learns that nobody waits for its report any more.
func Exec(ctx context.Context, config *rest.Config, rc rest.Interface, ns, pod, container string, command []string, stdout, stderr io.Writer) error {
	stdin, hold := io.Pipe()
	defer hold.Close()
	return ExecStdin(ctx, config, rc, ns, pod, container, command, stdin, stdout, stderr)
}

// ExecStdin is Exec with the command's stdin read from stdin: what the caller writes
// there the command reads; it sees EOF when stdin ends or the stream is torn down.
func ExecStdin(ctx context.Context, config *rest.Config, rc rest.Interface, ns, pod, container string, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := rc.Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   command,
			Stdin:     true,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(config, "POST", req.URL())
	if err != nil {
		return err
	}
	ws, err := remotecommand.NewWebSocketExecutor(config, "GET", req.URL().String())
	if err != nil {
		return err
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// IsNotReady tells whether an exec failed only because the container has not started yet,
// which is worth a short retry: the kubelet runs a container before the API says so.
func IsNotReady(err error) bool {
	if err == nil {
		return false
	}
	s := strings.ToLower(err.Error())
	for _, m := range []string{"container not found", "is not running", "not valid for pod", "is waiting to start", "unable to upgrade connection: container"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// IsPodUnknown tells whether an exec failed because the kubelet on the pod's node does not
// know the pod ("unable to upgrade connection: pod does not exist"): the API server has it,
// the kubelet has not admitted it, e.g. in the first seconds after the node restarted.
func IsPodUnknown(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "pod does not exist")
}
