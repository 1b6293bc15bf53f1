"""deploy/k8s as `kubectl kustomize` renders it: valid Kubernetes objects,
and the parts the herd depends on (ports, probes, names, selectors, the
peer-port rule, the security context, resources) agreeing with each other
and with the herd file the pods get."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import text_format

import k8s_schema
from entrypoint_run import ENTRYPOINT
from local_herd import split_address
from manifests import quantity, selects
from stubs import REPO_ROOT

MAKE_HERD = REPO_ROOT / "deploy" / "make-herd.py"
K8S_TEMPLATE = REPO_ROOT / "deploy" / "k8s" / "herd-template.textproto"

# herd file address field -> the container port name serving it.
ADDRESS_PORTS = {
    "gateway_address": "gateway",
    "grpc_address": "peer",
    "operator_address": "operator",
    "http_address": "http",
}
# The ports every pod uses (the contract of the herd's Kubernetes setup).
EXPECTED_PORTS = {"gateway": 12000, "peer": 13000, "operator": 14000,
                  "http": 15000}


def parse_herd_file(stubs, text):
    config = stubs.config_pb2.HerdConfig()
    text_format.Parse(text, config)
    return config


@pytest.fixture(scope="module")
def herd_config(stubs, herd_file_text):
    return parse_herd_file(stubs, herd_file_text)


def test_objects_are_valid_kubernetes_objects(manifests):
    pytest.importorskip(
        "kubernetes.client",
        reason="the schema check needs the Kubernetes Python client: install "
               "Debian's python3-kubernetes")
    errors = [e for obj in manifests.objects for e in k8s_schema.schema_errors(obj)]
    assert errors == []


def test_every_part_of_the_herd_is_there(manifests):
    kinds = sorted(obj["kind"] for obj in manifests.objects)
    assert kinds == sorted(["ConfigMap", "Service", "Service", "StatefulSet",
                            "PodDisruptionBudget", "NetworkPolicy"])
    # Secrets are made by the operator (README), never shipped with values.
    assert manifests.all("Secret") == []


def test_statefulset_runs_one_pod_per_server(manifests, herd_config):
    spec = manifests.statefulset()["spec"]
    names = manifests.herd_names()
    assert manifests.statefulset()["metadata"]["name"] == "herd"
    assert spec["replicas"] == len(names) == len(herd_config.servers) == 5
    # Pod herd-N is server herd-N, in the herd file's order.
    assert names == [s.name for s in herd_config.servers]
    assert selects(spec["selector"], manifests.pod_labels())


def test_pod_n_has_the_addresses_of_server_n(manifests, herd_config):
    """Pod herd-N (server herd-N) is reached at herd-N.SERVICE, the headless
    Service's DNS name for it, on every one of its addresses."""
    statefulset = manifests.statefulset()
    service = statefulset["spec"]["serviceName"]
    servers = {s.name: s for s in herd_config.servers}
    for ordinal, name in enumerate(manifests.herd_names()):
        pod_host = f"{statefulset['metadata']['name']}-{ordinal}.{service}"
        for field in ADDRESS_PORTS:
            address = getattr(servers[name], field)
            assert split_address(address)[0] == pod_host, (
                f"{name} (pod {ordinal}) has {field} {address}")


def test_herd_file_addresses_use_the_container_ports(manifests, herd_config):
    ports = manifests.container_ports()
    assert ports == EXPECTED_PORTS
    for server in herd_config.servers:
        for field, port_name in ADDRESS_PORTS.items():
            assert split_address(getattr(server, field))[1] == ports[port_name], (
                f"{server.name}'s {field}")


def test_herd_file_is_make_herds_for_the_replicas(manifests, herd_file_text):
    """What the ConfigMap carries is deploy/make-herd.py's herd file for the
    StatefulSet's replicas from the Kubernetes template, byte for byte: the
    way README's scaling steps make it for any N."""
    replicas = manifests.statefulset()["spec"]["replicas"]
    made = subprocess.run(
        [sys.executable, str(MAKE_HERD), "--servers", str(replicas),
         "--template", str(K8S_TEMPLATE)],
        capture_output=True, text=True, timeout=60, check=True).stdout
    assert herd_file_text == made


def test_headless_service_gives_peers_dns_names(manifests):
    statefulset = manifests.statefulset()
    service = manifests.one("Service", statefulset["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    # Peers must resolve a pod before it is ready (catch-up between them).
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert selects({"matchLabels": service["spec"]["selector"]},
                   manifests.pod_labels())
    assert [manifests.port_number(p["targetPort"])
            for p in service["spec"]["ports"]] == [EXPECTED_PORTS["peer"]]


def test_gateway_service_reaches_every_ready_gateway(manifests):
    service = manifests.one("Service", "herd-gateway")
    assert service["spec"].get("clusterIP") != "None"
    assert not service["spec"].get("publishNotReadyAddresses", False)
    assert selects({"matchLabels": service["spec"]["selector"]},
                   manifests.pod_labels())
    assert [(p["port"], manifests.port_number(p["targetPort"]))
            for p in service["spec"]["ports"]] == [(12000, 12000)]


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe",
                                   "livenessProbe"])
def test_probes_ask_grpc_health_on_the_operator_port(manifests, herd_config,
                                                      probe):
    spec = manifests.container()[probe]
    assert set(spec) & {"httpGet", "tcpSocket", "exec"} == set()
    # No service name: the server's overall health ("").
    assert spec["grpc"].get("service", "") == ""
    port = manifests.port_number(spec["grpc"]["port"])
    # The plaintext operator listener: the peer port wants client certs.
    assert port == manifests.container_ports()["operator"]
    for server in herd_config.servers:
        assert split_address(server.operator_address)[1] == port


def test_disruption_budget_keeps_all_but_one_server(manifests):
    budget = manifests.one("PodDisruptionBudget")["spec"]
    assert selects(budget["selector"], manifests.pod_labels())
    # The topology survives any one server gone, not two.
    allowed_down = budget.get("maxUnavailable")
    if allowed_down is None:
        allowed_down = manifests.statefulset()["spec"]["replicas"] - budget[
            "minAvailable"]
    assert allowed_down == 1


def ingress_rules_admitting(manifests, policy, port):
    """The `from` lists of the rules that let TCP traffic reach port (None
    for a rule that admits any source)."""
    admitted = []
    for rule in policy["spec"].get("ingress", []):
        ports = rule.get("ports")
        if ports and not any(
                p.get("protocol", "TCP") == "TCP"
                and manifests.port_number(p["port"]) == port for p in ports):
            continue
        admitted.append(rule.get("from") or None)
    return admitted


def test_only_herd_pods_reach_the_peer_port(manifests):
    policy = manifests.one("NetworkPolicy")
    assert selects(policy["spec"]["podSelector"], manifests.pod_labels())
    assert "Ingress" in policy["spec"]["policyTypes"]
    rules = ingress_rules_admitting(manifests, policy, 13000)
    assert rules, "nothing may reach the peer port: the herd cannot link"
    for sources in rules:
        assert sources is not None, "a rule lets anyone reach the peer port"
        for source in sources:
            assert set(source) == {"podSelector"}, (
                f"peer port open to {source}: only herd pods of this "
                "namespace may reach it")
            assert selects(source["podSelector"], manifests.pod_labels())
            assert source["podSelector"]["matchLabels"].get(
                "app.kubernetes.io/name") == "herd"


def test_clients_reach_the_gateway_and_operators_the_rest(manifests):
    policy = manifests.one("NetworkPolicy")
    assert None in ingress_rules_admitting(manifests, policy, 12000)
    for port in (14000, 15000):
        rules = ingress_rules_admitting(manifests, policy, port)
        assert rules, f"nothing may reach port {port}"
        # The operator port is plaintext and can report locations.
        assert None not in rules, f"port {port} is open to any source"


def test_pod_and_container_run_unprivileged(manifests):
    pod = manifests.pod_spec()["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    container = manifests.container()["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"]["drop"] == ["ALL"]
    assert not container["capabilities"].get("add")
    assert manifests.pod_spec()["automountServiceAccountToken"] is False


def test_resources_are_requested_and_limited(manifests):
    resources = manifests.container()["resources"]
    for kind in ("cpu", "memory"):
        request = quantity(resources["requests"][kind])
        limit = quantity(resources["limits"][kind])
        assert 0 < request <= limit, f"{kind}: request {request}, limit {limit}"


def entrypoint_default(variable):
    """The default the entry point gives a variable (${VAR:-default})."""
    match = re.search(rf"^{variable}=\$\{{{variable}:?-([^}}]*)\}}$",
                      ENTRYPOINT.read_text(), re.MULTILINE)
    assert match, f"no default for {variable} in {ENTRYPOINT}"
    return match.group(1)


def env_or_entrypoint_default(manifests, variable):
    value = manifests.env().get(variable, {}).get("value")
    return value if value is not None else entrypoint_default(variable)


def test_writable_paths_are_volumes(manifests, herd_config):
    """The root file system is read-only: whatever herdnode or the entry
    point writes must be on a writable volume."""
    writable = {
        "log_directory": herd_config.log_directory,
        "durability.data_directory": herd_config.durability.data_directory,
    }
    for what, path in writable.items():
        assert Path(path).is_absolute(), f"{what} {path!r} is not absolute"
        mount = manifests.mount_of(path)
        assert mount is not None, f"{what} {path} is on no volume"
        assert not mount.get("readOnly", False), f"{what} {path} is read-only"
        volume = manifests.volume(mount["name"])
        assert set(volume) & {"emptyDir", "persistentVolumeClaim"}, (
            f"{what} {path} is on {volume}, not a writable volume")


def test_each_pod_keeps_its_data_on_its_own_claim(manifests, herd_config):
    mount = manifests.mount_of(herd_config.durability.data_directory)
    claim = manifests.volume(mount["name"])["persistentVolumeClaim"]
    assert claim["accessModes"] == ["ReadWriteOnce"]
    assert quantity(claim["resources"]["requests"]["storage"]) > 0


def test_pods_read_the_herd_file_from_the_config_map(manifests):
    path = env_or_entrypoint_default(manifests, "HERD_CONFIG")
    mount = manifests.mount_of(path)
    assert mount is not None and mount.get("readOnly") is True
    inside = mount.get("subPath") or path[len(mount["mountPath"]):].lstrip("/")
    volume = manifests.volume(mount["name"])["configMap"]
    assert volume["name"] == manifests.herd_config_map()["metadata"]["name"]
    keys = {item["path"]: item["key"] for item in volume.get("items", [])}
    assert keys.get(inside, inside) == "herd.textproto"


def test_an_applied_herd_file_reaches_running_pods(manifests):
    """Scaling changes the herd file; the running servers must get it
    without a restart: the ConfigMap keeps its name (no hash suffix, which
    would roll every pod), its volume is mounted whole (a subPath mount is
    never updated), and herdnode watches the file."""
    mount = manifests.mount_of(env_or_entrypoint_default(manifests, "HERD_CONFIG"))
    assert "subPath" not in mount
    assert manifests.herd_config_map()["metadata"]["name"] == "herd-config"
    watch = [arg for arg in manifests.container().get("args", [])
             if arg.startswith("--watch_herd_file=")]
    assert len(watch) == 1
    assert 1 <= int(watch[0].split("=", 1)[1]) <= 60


def test_certificates_come_from_the_herd_certs_secret(manifests, herd_config):
    tls = herd_config.tls
    mounts = set()
    for path in (tls.ca_cert_path, tls.cert_path, tls.key_path):
        assert Path(path).is_absolute(), f"TLS path {path!r} is not absolute"
        mount = manifests.mount_of(path)
        assert mount is not None, f"TLS file {path} is on no volume"
        mounts.add(mount["name"])
    assert len(mounts) == 1
    secret = manifests.volume(mounts.pop())["secret"]
    assert secret["secretName"] == "herd-certs"
    assert not secret.get("optional", False)
    # Readable by the owner and the pod's fsGroup, by no one else.
    assert secret["defaultMode"] == 0o440
    # {name} in the paths: every pod has the files of every server.
    assert "{name}" in tls.cert_path and "{name}" in tls.key_path


def test_places_key_is_an_optional_secret(manifests):
    key = manifests.env()["GOOGLE_PLACES_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert key == {"name": "herd-places", "key": "GOOGLE_PLACES_API_KEY",
                   "optional": True}
