"""Just enough of a kube-apiserver for smoke.sh's KDD run of the Calico CNI plugin.

Serves one node, one namespace, one pod and ClusterInformation "default" over plain HTTP
(no auth), applies PATCHes of pods/status annotations, answers 404 to anything else, and
prints every request as "REQ METHOD PATH BODY" so the run shows which API calls (and so
which RBAC rules) the plugin needs.
Usage: python3 fakeapi.py PORT NODE_NAME POD_CIDR
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT, NODE, CIDR = int(sys.argv[1]), sys.argv[2], sys.argv[3]
T0 = "2026-01-01T00:00:00Z"
POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p1", "namespace": "default", "uid": "11111111-2222-3333-4444-555555555555",
                 "resourceVersion": "10", "creationTimestamp": T0, "labels": {"app": "smoke"}, "annotations": {}},
    "spec": {"nodeName": NODE, "serviceAccountName": "default", "containers": [{"name": "c", "image": "pause"}]},
    "status": {"phase": "Pending"},
}
OBJECTS = {
    "/api/v1/namespaces/default": {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "default", "resourceVersion": "1", "creationTimestamp": T0,
        "labels": {"kubernetes.io/metadata.name": "default"}}},
    "/api/v1/namespaces/default/pods/p1": POD,
    f"/api/v1/nodes/{NODE}": {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": NODE, "resourceVersion": "1", "creationTimestamp": T0}, "spec": {"podCIDR": CIDR, "podCIDRs": [CIDR]}},
    "/apis/crd.projectcalico.org/v1/clusterinformations/default": {
        "apiVersion": "crd.projectcalico.org/v1", "kind": "ClusterInformation", "metadata": {
            "name": "default", "resourceVersion": "1", "uid": "99999999-8888-7777-6666-555555555555",
            "creationTimestamp": T0}, "spec": {"datastoreReady": True}},
}


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        path = self.path.split("?")[0]
        print(f"REQ {self.command} {self.path} {body.decode()}", flush=True)
        if self.command == "GET" and path in OBJECTS:
            return self.reply(200, OBJECTS[path])
        if self.command == "PATCH" and path == "/api/v1/namespaces/default/pods/p1/status":
            annotations = POD["metadata"]["annotations"]
            for k, v in json.loads(body).get("metadata", {}).get("annotations", {}).items():
                if v is None:
                    annotations.pop(k, None)
                else:
                    annotations[k] = v
            POD["metadata"]["resourceVersion"] = str(int(POD["metadata"]["resourceVersion"]) + 1)
            return self.reply(200, POD)
        self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                         "code": 404, "message": "fakeapi: not served"})

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = handle_any

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
