"""Rendered Kubernetes manifests, and the questions the tests ask of them:
which object, which container port a name or number means, which pods a
selector picks, how big a resource quantity is."""

import re

import yaml

# Binary and decimal suffixes of Kubernetes resource quantities.
_QUANTITY_SUFFIXES = {
    "": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}


def quantity(text):
    """A resource quantity ("100m", "512Mi", "2") as a number."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)", str(text))
    assert match and match.group(2) in _QUANTITY_SUFFIXES, (
        f"not a resource quantity: {text!r}")
    return float(match.group(1)) * _QUANTITY_SUFFIXES[match.group(2)]


def selects(selector, labels):
    """Whether a label selector (matchLabels only) picks these labels."""
    assert set(selector) <= {"matchLabels"}, (
        f"selector {selector} uses more than matchLabels; extend the test")
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


class Manifests:
    """The objects of one `kubectl kustomize` output."""

    def __init__(self, objects):
        self.objects = objects

    @classmethod
    def parse(cls, text):
        return cls([obj for obj in yaml.safe_load_all(text) if obj])

    def all(self, kind):
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind, name=None):
        found = [obj for obj in self.all(kind)
                 if name is None or obj["metadata"]["name"] == name]
        assert len(found) == 1, (
            f"expected one {kind}{' ' + name if name else ''}, found "
            f"{[obj['metadata']['name'] for obj in found]}")
        return found[0]

    def statefulset(self):
        return self.one("StatefulSet")

    def pod_spec(self):
        return self.statefulset()["spec"]["template"]["spec"]

    def pod_labels(self):
        return self.statefulset()["spec"]["template"]["metadata"]["labels"]

    def container(self):
        containers = self.pod_spec()["containers"]
        assert len(containers) == 1, "expected one container per herd pod"
        return containers[0]

    def container_ports(self):
        """Port name -> container port number."""
        return {p["name"]: p["containerPort"]
                for p in self.container()["ports"]}

    def port_number(self, port):
        """A port given by number or by container port name, as a number."""
        return port if isinstance(port, int) else self.container_ports()[port]

    def env(self):
        return {e["name"]: e for e in self.container().get("env", [])}

    def herd_config_map(self):
        """The ConfigMap the pods' herd file comes from (the "config"
        volume's)."""
        return self.one("ConfigMap", self.volume("config")["configMap"]["name"])

    def pod_names(self):
        """The StatefulSet's pods, by ordinal."""
        statefulset = self.statefulset()
        return [f"{statefulset['metadata']['name']}-{ordinal}"
                for ordinal in range(statefulset["spec"]["replicas"])]

    def herd_names(self):
        """The server each pod runs, by ordinal: its own name, which the
        StatefulSet passes as HERD_NAME."""
        field = self.env()["HERD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"]
        assert field == "metadata.name", field
        return self.pod_names()

    def pod_name_variables(self):
        """The container's variables that Kubernetes sets to the pod's
        name (downward API)."""
        return [name for name, var in self.env().items()
                if var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
                == "metadata.name"]

    def volume(self, name):
        found = [v for v in self.pod_spec()["volumes"] if v["name"] == name]
        if not found:  # a volumeClaimTemplate of the StatefulSet
            found = [{"name": name, "persistentVolumeClaim": t["spec"]}
                     for t in self.statefulset()["spec"].get(
                         "volumeClaimTemplates", [])
                     if t["metadata"]["name"] == name]
        assert len(found) == 1, f"no single volume named {name}"
        return found[0]

    def mount_of(self, path):
        """The volume mount holding path (deepest mount path first)."""
        mounts = sorted(self.container().get("volumeMounts", []),
                        key=lambda m: len(m["mountPath"]), reverse=True)
        for mount in mounts:
            root = mount["mountPath"].rstrip("/")
            if path == root or path.startswith(root + "/"):
                return mount
        return None
