"""Our nodes' per-link counters, read with herd.v1.HerdNode/GetStatus on
their operator ports: how many updates each node sent each peer, and in how
many messages (batches) on the PropagateLocations stream.

The Python stubs come from bench/herd_protos.py. A node built before
PeerStatus had `batches_sent` reports none: its links' batch figures are
None ("n/a" in the report).
"""

import herd_protos


def has_batches_field():
    """Whether this tree's PeerStatus has batches_sent at all."""
    peer_status = herd_protos.stubs().herd_pb2.PeerStatus
    return "batches_sent" in peer_status.DESCRIPTOR.fields_by_name


def read_links(targets, timeout_s=5.0):
    """{"A->B": {"updates_sent": n, "batches_sent": m or None}} over every
    node (name: gRPC host:port of its operator port)."""
    import grpc
    stubs = herd_protos.stubs()
    batches = has_batches_field()
    links = {}
    for name, target in targets.items():
        with grpc.insecure_channel(target) as channel:
            status = stubs.herd_pb2_grpc.HerdNodeStub(channel).GetStatus(
                stubs.herd_pb2.GetStatusRequest(), timeout=timeout_s)
        for peer in status.peers:
            links[f"{name}->{peer.name}"] = {
                "updates_sent": peer.updates_sent,
                "batches_sent": peer.batches_sent if batches else None}
    return links


def updates_per_batch(before, after):
    """Per link: the rise in updates_sent over the rise in batches_sent, or
    None when the node does not count batches (or sent none)."""
    result = {}
    for link in sorted(before.keys() & after.keys()):
        updates = after[link]["updates_sent"] - before[link]["updates_sent"]
        old, new = before[link]["batches_sent"], after[link]["batches_sent"]
        batches = None if old is None or new is None else new - old
        result[link] = {
            "updates": updates, "batches": batches,
            # An old node without the counter reads 0 batches for any
            # number of updates: that is "not counted", not infinity.
            "updates_per_batch": updates / batches if batches else None}
    return result
