"""Watch end to end: a gRPC client streams one server's location changes
and sees an IAMAT made at another server arrive; a circle leaves out a far
one."""

import threading

import grpc

from at_line import UCLA, iamat, now_nanos, time_text, unique_client
from polling import wait_until
from test_metrics import value

TIMEOUT = 30
# Times Square: about 3,900 km from UCLA.
NEW_YORK = "+40.758000-073.985500"


class Watcher:
    """Reads a Watch stream on a thread, collecting the events."""

    def __init__(self, herd, name, request):
        self.call = herd.node(name).Watch(request, timeout=TIMEOUT * 2)
        self.events = []
        self.arrived = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for event in self.call:
                with self.arrived:
                    self.events.append(event)
                    self.arrived.notify_all()
        except grpc.RpcError:
            pass  # cancelled at the end of the test

    def wait_for(self, client_id):
        def seen():
            return any(e.HasField("location") and e.location.client_id == client_id
                       for e in self.events)
        with self.arrived:
            assert self.arrived.wait_for(seen, timeout=TIMEOUT), (
                f"{client_id} never arrived; saw {self.events}")

    def client_ids(self):
        with self.arrived:
            return [e.location.client_id for e in self.events
                    if e.HasField("location")]

    def close(self):
        self.call.cancel()
        self.thread.join(timeout=TIMEOUT)
        assert not self.thread.is_alive()


def wait_watching(herd, name, count):
    """Waits until the server reports count open Watch streams (metrics)."""
    wait_until(lambda: value(herd, name, "herd_watchers") == count,
               timeout=TIMEOUT, what=f"{count} watchers at {name}")


def test_watch_sees_a_change_made_at_another_server(herd):
    pb = herd.stubs.herd_pb2
    everything = Watcher(herd, "Bolden", pb.WatchRequest())
    near_ucla = Watcher(herd, "Bolden", pb.WatchRequest(
        within=pb.Circle(latitude=34.0689, longitude=-118.4451, radius_km=50)))
    try:
        wait_watching(herd, "Bolden", 2)
        far, near = unique_client("far"), unique_client("near")
        with herd.client("Hamilton") as client:
            assert client.request(
                iamat(far, NEW_YORK, time_text(now_nanos()))).startswith("AT ")
            assert client.request(
                iamat(near, UCLA, time_text(now_nanos()))).startswith("AT ")
        everything.wait_for(far)
        everything.wait_for(near)
        near_ucla.wait_for(near)
        # far reached Bolden before near did (same path, same order), so the
        # filtered stream has had its chance to show it.
        assert far not in near_ucla.client_ids()
        event = next(e for e in everything.events
                     if e.HasField("location") and e.location.client_id == near)
        assert event.location.origin_server == "Hamilton"
        assert event.location.coordinates_text == UCLA
    finally:
        everything.close()
        near_ucla.close()


def test_bad_circle_is_refused(herd):
    pb = herd.stubs.herd_pb2
    call = herd.node("Parker").Watch(pb.WatchRequest(
        within=pb.Circle(latitude=100, longitude=0, radius_km=1)), timeout=TIMEOUT)
    try:
        list(call)
        raise AssertionError("a bad circle was accepted")
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "within.latitude" in error.details()
