// Command fakeapi is just enough of a kube-apiserver for smoke.sh's KDD run of the
// Calico CNI plugin. It serves one node, one namespace, one pod and ClusterInformation
// "default" over plain HTTP (no auth), applies PATCHes of the pod's status annotations,
// answers 404 to anything else, and prints every request as "REQ METHOD PATH BODY" so a
// run shows which API calls (and so which RBAC rules) the plugin needs.
//
// Usage: fakeapi ADDR NODE_NAME POD_CIDR
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync"
)

type obj = map[string]any

const t0 = "2026-01-01T00:00:00Z"

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: fakeapi ADDR NODE_NAME POD_CIDR")
	}
	addr, node, cidr := os.Args[1], os.Args[2], os.Args[3]
	annotations := map[string]string{}
	rv := 10
	pod := func() obj {
		return obj{"apiVersion": "v1", "kind": "Pod",
			"metadata": obj{"name": "p1", "namespace": "default", "uid": "11111111-2222-3333-4444-555555555555",
				"resourceVersion": strconv.Itoa(rv), "creationTimestamp": t0,
				"labels": obj{"app": "smoke"}, "annotations": annotations},
			"spec": obj{"nodeName": node, "serviceAccountName": "default",
				"containers": []obj{{"name": "c", "image": "pause"}}},
			"status": obj{"phase": "Pending"}}
	}
	objects := map[string]obj{
		"/api/v1/namespaces/default": {"apiVersion": "v1", "kind": "Namespace", "metadata": obj{
			"name": "default", "resourceVersion": "1", "creationTimestamp": t0,
			"labels": obj{"kubernetes.io/metadata.name": "default"}}},
		"/api/v1/nodes/" + node: {"apiVersion": "v1", "kind": "Node", "metadata": obj{
			"name": node, "resourceVersion": "1", "creationTimestamp": t0},
			"spec": obj{"podCIDR": cidr, "podCIDRs": []string{cidr}}},
		"/apis/crd.projectcalico.org/v1/clusterinformations/default": {
			"apiVersion": "crd.projectcalico.org/v1", "kind": "ClusterInformation", "metadata": obj{
				"name": "default", "resourceVersion": "1", "uid": "99999999-8888-7777-6666-555555555555",
				"creationTimestamp": t0}, "spec": obj{"datastoreReady": true}},
	}
	const podPath = "/api/v1/namespaces/default/pods/p1"
	var mu sync.Mutex
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("REQ %s %s %s\n", r.Method, r.URL.RequestURI(), body)
		reply := func(code int, o obj) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(o)
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == podPath:
			reply(http.StatusOK, pod())
		case r.Method == http.MethodGet && objects[r.URL.Path] != nil:
			reply(http.StatusOK, objects[r.URL.Path])
		case r.Method == http.MethodPatch && r.URL.Path == podPath+"/status":
			var patch struct {
				Metadata struct {
					Annotations map[string]*string `json:"annotations"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(body, &patch); err != nil {
				reply(http.StatusBadRequest, obj{"kind": "Status", "apiVersion": "v1", "status": "Failure",
					"reason": "BadRequest", "code": 400, "message": err.Error()})
				return
			}
			for k, v := range patch.Metadata.Annotations {
				if v == nil {
					delete(annotations, k)
				} else {
					annotations[k] = *v
				}
			}
			rv++
			reply(http.StatusOK, pod())
		default:
			reply(http.StatusNotFound, obj{"kind": "Status", "apiVersion": "v1", "status": "Failure",
				"reason": "NotFound", "code": 404, "message": "fakeapi: not served"})
		}
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
