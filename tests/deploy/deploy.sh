#!/usr/bin/env bash
# deploy.sh HANGAR DEPLOY_DIR - the files of deploy/ hold: the systemd unit passes
# `systemd-analyze verify` (when installed) and says what docs/OPERATIONS.md says it does; every
# Kubernetes manifest is YAML of the kinds expected, probes on /healthz and /readyz, scrape
# annotations; the configuration in the ConfigMap passes `hangar check`. TAP on stdout.
set -u
HANGAR=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DIR=$2
TMP=$(mktemp -d /tmp/hg-deploy-XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
echo "TAP version 13"
. "$(dirname "$0")/../tap.sh" # check
skip() { n=$((n + 1)); echo "ok $n - # SKIP $1"; }

unit=$DIR/hangar.service
for want in '^Type=notify$' '^ExecReload=/bin/kill -HUP \$MAINPID$' '^WatchdogSec=' \
            '^ExecStart=/usr/local/bin/hangar run /etc/hangar/hangar.yaml$' '^KillSignal=SIGTERM$'; do
    grep -q "$want" "$unit"
    check $? "hangar.service has $want" "$unit"
done
if command -v systemd-analyze >/dev/null; then
    # verify looks for the binary: point the unit at the one built here
    sed "s|/usr/local/bin/hangar|$HANGAR|g" "$unit" >"$TMP/hangar.service"
    systemd-analyze verify "$TMP/hangar.service" >"$TMP/verify.out" 2>&1
    st=$?
    # verify exits 0 on settings it ignores: any line it prints is a problem
    [ "$st" -eq 0 ] && [ ! -s "$TMP/verify.out" ]
    check $? "systemd-analyze verify passes hangar.service with nothing to say" "$TMP/verify.out"
else
    skip "systemd-analyze is not installed"
fi

if ! python3 -c 'import yaml' 2>/dev/null; then
    skip "python3 with the yaml module is not installed (apt-get install python3-yaml)"
    echo "1..$n"
    exit $failed
fi
python3 - "$DIR/k8s" "$TMP/hangar.yaml" >"$TMP/k8s.out" 2>&1 <<'PY'
import glob, os, sys, yaml
kinds = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
    for doc in yaml.safe_load_all(open(path)):
        assert isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc, path
        kinds.setdefault(doc["kind"], []).append(doc)
for kind in ("ConfigMap", "Deployment", "DaemonSet", "Service"):
    assert kind in kinds, "no %s" % kind
print("kinds: " + ", ".join(sorted(kinds)))
for kind in ("Deployment", "DaemonSet"):
    for d in kinds[kind]:
        tpl = d["spec"]["template"]
        ann = tpl["metadata"]["annotations"]
        assert ann["prometheus.io/scrape"] == "true", kind
        c = tpl["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ann["prometheus.io/port"] == str(ports["metrics"]), kind
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", kind
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", kind
        assert c["args"] == ["run", "/etc/hangar/hangar.yaml"], kind
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        assert mounts["config"] == "/etc/hangar", kind
        vols = {v["name"]: v for v in tpl["spec"]["volumes"]}
        assert vols["config"]["configMap"]["name"] == kinds["ConfigMap"][0]["metadata"]["name"]
        assert tpl["spec"]["terminationGracePeriodSeconds"] > 7, kind
        assert d["spec"]["selector"]["matchLabels"].items() <= tpl["metadata"]["labels"].items()
cfg = kinds["ConfigMap"][0]["data"]["hangar.yaml"]
hg = yaml.safe_load(cfg)
metrics_port = int(hg["control"]["metrics"].rsplit(":", 1)[1])
assert metrics_port == kinds["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]["ports"][1]["containerPort"]
open(sys.argv[2], "w").write(cfg)
print("ok")
PY
check $? "the Kubernetes manifests are YAML: ConfigMap, Deployment, DaemonSet, Service; probes on /healthz and /readyz; scrape annotations on the metrics port" "$TMP/k8s.out"
# The probes need control.metrics (the metrics endpoint); a build without it says so by name.
printf 'hangar: 1\ncontrol: { metrics: "127.0.0.1:0" }\n' >"$TMP/probe.yaml"
if "$HANGAR" check "$TMP/probe.yaml" 2>&1 | grep -q "unknown key 'metrics'"; then
    skip "this build has no control.metrics (the metrics endpoint): the ConfigMap is not checked"
else
    "$HANGAR" check "$TMP/hangar.yaml" --set "control.socket=$TMP/ctl.sock" >"$TMP/check.out" 2>&1
    check $? "the ConfigMap's hangar.yaml passes hangar check" "$TMP/check.out"
fi
echo "1..$n"
exit $failed
