//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/inject"
	"github.com/netdiff/kubectl-netdiff/pkg/nodepod"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
	"github.com/netdiff/kubectl-netdiff/pkg/version"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"
	"github.com/netdiff/kubectl-netdiff/plugins/nodeside"
	nsplugin "github.com/netdiff/kubectl-netdiff/plugins/nodeside"
)

func (x *env) clients(t *testing.T) (kubernetes.Interface, *rest.Config) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", x.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, cfg
}

func (x *env) nodeSpec() inject.Spec {
	return inject.Spec{Image: x.wantImage, PullPolicy: corev1.PullIfNotPresent, Version: version.Version}
}

// The node side of web-a and web-b, read by a privileged hostNetwork pod on their node:
// each pod's host veth (the peer of its eth0, as its own report says), the route to its
// IP through that veth; the node pod is gone afterwards, and twins give no findings.
func TestNodeSide(t *testing.T) {
	x := need(t)
	cs, cfg := x.clients(t)
	dir := t.TempDir()
	x.netdiff(t, "-n", x.nsA, "web-a", "web-b", "--save", dir).want(t, 0)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var subjects []string
	var reps []*report.Report
	for _, name := range []string{"web-a", "web-b"} {
		pod, err := cs.CoreV1().Pods(x.nsA).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, x.nsA+"_"+name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := report.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		raw, err := nodepod.Collect(ctx, cs, cfg, pod, rep, x.nodeSpec(), func(m string) { t.Logf("%s: %s", name, m) })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: node side in %s (%d bytes)", name, time.Since(start).Round(time.Millisecond), len(raw))

		var s nsplugin.Section
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		peer := nodeside.PeerIndex(rep, []string{pod.Status.PodIP})
		if peer == 0 {
			t.Fatalf("%s: its report has no eth0 peer index", name)
		}
		if s.Veth == nil || s.Veth.Index != peer || s.Veth.Type != "veth" || !(strings.HasPrefix(s.Veth.Name, "veth") || strings.HasPrefix(s.Veth.Name, "cali")) { // ptp or Calico
			t.Fatalf("%s: host veth %+v (error %+v), want the veth with ifindex %d", name, s.Veth, s.VethError, peer)
		}
		if len(s.RouteGet) == 0 || s.RouteGet[0].Route == nil || s.RouteGet[0].Route.Dev != s.Veth.Name {
			t.Errorf("%s: route get %+v, want dev %s", name, s.RouteGet, s.Veth.Name)
		}
		hostRoute := false
		for _, r := range s.Routes {
			hostRoute = hostRoute || (r.Dst == pod.Status.PodIP && r.Dev == s.Veth.Name)
		}
		if !hostRoute {
			t.Errorf("%s: no route %s dev %s among %+v", name, pod.Status.PodIP, s.Veth.Name, s.Routes)
		}
		if _, ok := s.Sysctls["net/ipv4/conf/"+s.Veth.Name+"/rp_filter"]; !ok {
			t.Errorf("%s: veth sysctls missing: %v %v", name, s.Sysctls, s.SysctlErrors)
		}
		if s.Netfilter == nil || s.Netfilter.Error != nil {
			t.Errorf("%s: nft not readable in the privileged node pod: %+v", name, s.Netfilter)
		}
		if s.Conntrack == nil || s.Conntrack.Error != nil || s.Conntrack.TableMax == 0 {
			t.Errorf("%s: conntrack: %+v", name, s.Conntrack)
		}
		// The lead's wiring: the section joins the pod's own report.
		rep.Sections[section.NodeSideName()] = raw
		subjects, reps = append(subjects, name), append(reps, rep)
	}

	left, err := cs.CoreV1().Pods(x.nsA).List(ctx, metav1.ListOptions{LabelSelector: nodepod.LabelNodeSideFor})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range left.Items {
		if p.DeletionTimestamp == nil {
			t.Errorf("node pod %s left behind", p.Name)
		}
	}

	res, err := diff.Compare(subjects, reps, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, r := range res.Rows {
		if r.Section != section.NodeSideName() {
			continue
		}
		rows++
		if !r.Equal && r.Kind == 0 {
			t.Errorf("twins differ on the node side in %s: %v", r.Key, r.Values)
		}
	}
	if rows < 10 {
		t.Errorf("only %d nodeside rows", rows)
	}
	for _, f := range res.Findings {
		if strings.HasPrefix(f.Rule, "nodeside/") {
			t.Errorf("finding between twins: %+v", f)
		}
	}
}

// A namespace whose Pod Security level is baseline refuses the privileged node pod, and
// the error says so and names --node-namespace.
func TestNodeSideRefusedByPodSecurity(t *testing.T) {
	x := need(t)
	cs, cfg := x.clients(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := fmt.Sprintf("netdiff-e2e-psa-%d", time.Now().UnixNano()%1e6)
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	// Without its default ServiceAccount the namespace refuses every pod (also Forbidden),
	// before Pod Security is asked.
	if err := x.waitFor(ctx, "get", "serviceaccount", "default", "-n", ns); err != nil {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}, AutomountServiceAccountToken: new(bool)}
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod, err := cs.CoreV1().Pods(x.nsA).Get(ctx, "web-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nodepod.Request{Client: cs, Config: cfg, Subject: pod, Spec: x.nodeSpec(), NodeNamespace: ns}.Collect(ctx)
	var fe *nodepod.ForbiddenError
	if !errors.As(err, &fe) || fe.By != "Pod Security" || !strings.Contains(err.Error(), "--node-namespace") {
		t.Fatalf("err %v, want a Pod Security refusal naming --node-namespace", err)
	}
	t.Logf("refused: %v", err)

	// The same refusal through the command, for --via node: the user is told which flag
	// picks another namespace, and no pod is changed.
	r := x.netdiff(t, "-n", x.nsA, "web-a", "web-b", "--via", "node", "--node-namespace", ns)
	r.fails(t, 30*time.Second, "web-[ab]", "Pod Security", "--via node", "--node-namespace")
}
