#!/usr/bin/env bash
# smoke.sh: proves the node of `make cluster-up` runs pods: a pod of the
# locally built pause image, Ready; from inside its network namespace, CoreDNS
# through the kube-dns Service (pod -> Service -> pod on the bridge) and a TCP
# connection to the API server through the kubernetes Service. Deletes it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin=$("$here/binaries.sh")
export PATH="$bin:$PATH" KUBECONFIG=$CLUSTER_DIR/admin.kubeconfig
t0=$(date +%s.%N)
kubectl delete pod smoke --ignore-not-found --wait=true >/dev/null
kubectl run smoke --image="$PAUSE_IMAGE" --image-pull-policy=IfNotPresent --restart=Never >/dev/null
kubectl wait --for=condition=Ready pod/smoke --timeout=60s >/dev/null
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "smoke: pod Ready in %.1fs\n", b - a}'
kubectl get pod smoke -o wide
cid=$(kubectl get pod smoke -o jsonpath='{.status.containerStatuses[0].containerID}'); cid=${cid#containerd://}
pid=$(ctr -a "$SOCK" -n k8s.io tasks ls | awk -v c="$cid" '$1 == c {print $2}')
[ -n "$pid" ] || die "smoke: no task for container $cid"
ip=$(nsenter -t "$pid" -n "$here/dnsquery.sh" "$DNS_SVC_IP" kube-dns.kube-system.svc.cluster.local)
[ "$ip" = "$DNS_SVC_IP" ] || die "smoke: kube-dns.kube-system resolved to '$ip' from the pod"
echo "smoke: from the pod, kube-dns.kube-system.svc.cluster.local -> $ip (CoreDNS through its Service)"
nsenter -t "$pid" -n bash -c "exec 3<>/dev/tcp/$KUBERNETES_SVC_IP/443" || die "smoke: pod cannot reach $KUBERNETES_SVC_IP:443"
echo "smoke: from the pod, TCP to the kubernetes Service $KUBERNETES_SVC_IP:443 connects"
kubectl delete pod smoke --wait=true >/dev/null
echo "smoke: ok"
