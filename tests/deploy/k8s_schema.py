"""Checks Kubernetes objects against the API's own types, with no cluster.

`kubectl apply --dry-run=client` needs an API server for its schema, and
none runs here. The types come instead from the Kubernetes Python client
(Debian's python3-kubernetes, generated from the API's OpenAPI spec): each
model class lists its fields (attribute_map: Python name -> JSON name) and
their types (openapi_types), and its constructor rejects a missing required
field. An object is checked the way the API server's strict field
validation would: no unknown field, every value of its field's type, no
required field missing.
"""

import json

# (apiVersion, kind) -> the client's model class.
MODEL_OF_KIND = {
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("v1", "Service"): "V1Service",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy",
}

# Debian's client is 22.6 (Kubernetes 1.22). Fields the API gained since
# then that herd's manifests use: gRPC probes (Kubernetes 1.24 beta, 1.27
# GA). model -> {JSON field: type}; new types: JSON field -> type, and
# which fields are required.
_NEWER_FIELDS = {"V1Probe": {"grpc": "GRPCAction"}}
_NEWER_MODELS = {"GRPCAction": ({"port": "int", "service": "str"}, {"port"})}


class _Response:  # what ApiClient.deserialize reads
    def __init__(self, obj):
        self.data = json.dumps(obj)


def _client():
    import kubernetes.client  # pylint: disable=import-outside-toplevel
    return kubernetes.client


def _fields(client, model):
    """JSON field name -> type string of a model, and its required fields
    (None: let the client's constructor say)."""
    if model in _NEWER_MODELS:
        return _NEWER_MODELS[model]
    cls = getattr(client, model)
    fields = {cls.attribute_map[attr]: kind
              for attr, kind in cls.openapi_types.items()}
    fields.update(_NEWER_FIELDS.get(model, {}))
    return fields, None


def _check_scalar(kind, value, path, errors):
    expected = {"str": str, "bool": bool, "int": int, "float": (int, float),
                "datetime": str, "date": str}[kind]
    ok = isinstance(value, expected)
    if kind in ("int", "float") and isinstance(value, bool):
        ok = False
    if not ok:
        errors.append(f"{path}: expected {kind}, got {type(value).__name__} "
                      f"{value!r}")


def _check(client, kind, value, path, errors):
    if kind == "object":  # IntOrString, free-form: anything goes
        return
    if kind.startswith("list[") and kind.endswith("]"):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {value!r}")
            return
        for i, item in enumerate(value):
            _check(client, kind[5:-1], item, f"{path}[{i}]", errors)
        return
    if kind.startswith("dict(") and kind.endswith(")"):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map, got {value!r}")
            return
        item_kind = kind[5:-1].split(",", 1)[1].strip()
        for key, item in value.items():
            _check(client, item_kind, item, f"{path}.{key}", errors)
        return
    if kind in ("str", "bool", "int", "float", "datetime", "date"):
        _check_scalar(kind, value, path, errors)
        return
    if not isinstance(value, dict):
        errors.append(f"{path}: expected a {kind} object, got {value!r}")
        return
    fields, required = _fields(client, kind)
    for key, item in value.items():
        if key not in fields:
            errors.append(f"{path}: unknown field '{key}' in {kind}")
            continue
        _check(client, fields[key], item, f"{path}.{key}", errors)
    for key in sorted(required or ()):
        if key not in value:
            errors.append(f"{path}: {kind} needs '{key}'")


def schema_errors(obj):
    """Everything wrong with one object (a dict), as messages naming the
    path of each problem; [] if it is valid."""
    client = _client()
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    model = MODEL_OF_KIND.get((obj.get("apiVersion"), obj.get("kind")))
    if model is None:
        return [f"{where}: no schema for apiVersion {obj.get('apiVersion')!r} "
                f"kind {obj.get('kind')!r} (a current, GA API version?)"]
    errors = []
    _check(client, model, obj, where, errors)
    try:  # required fields and the client's own value checks
        client.ApiClient().deserialize(_Response(obj), model)
    except (ValueError, TypeError) as error:
        errors.append(f"{where}: {error}")
    return errors
