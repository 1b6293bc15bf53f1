"""Clients nobody here wrote: netcat on the gateway, and what grpcurl relies
on (server reflection, the standard health service) on the operator port."""

import re
import shutil
import subprocess

import pytest
from google.protobuf import descriptor_pb2

from at_line import (UCLA, expected_at_line, iamat, now_nanos, parse_at_reply,
                     time_text, unique_client)
from polling import wait_until

NC_TIMEOUT = 20


@pytest.fixture(scope="module")
def nc():
    path = shutil.which("nc")
    if path is None:
        pytest.fail("nc not found: install Debian's netcat-openbsd")
    usage = subprocess.run([path, "-h"], capture_output=True, text=True,
                           timeout=10).stderr
    # -N (shut the socket down after EOF on stdin) is netcat-openbsd's.
    if not re.search(r"^\s*-N\s", usage, re.MULTILINE):
        pytest.fail(f"{path} is not netcat-openbsd (no -N flag)")
    return path


def test_nc_iamat(herd, nc):
    client_id = unique_client()
    sent_time = time_text(now_nanos())
    host, port = herd.gateway("Hamilton")
    try:
        result = subprocess.run(
            [nc, "-N", host, str(port)],
            input=iamat(client_id, UCLA, sent_time) + "\n",
            capture_output=True, text=True, timeout=NC_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("nc -N did not finish: the gateway kept the connection "
                    "open after the client's EOF")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    fields = parse_at_reply(lines[0])
    assert lines[0] == expected_at_line("Hamilton", fields["diff"], client_id,
                                        UCLA, sent_time)
    herd.wait_for_location(client_id, ["Bolden"])


def test_startup_line_names_both_addresses(herd):
    for name in herd.names:
        server = herd.server(name)
        expected = (f"herdnode {name}: gateway {server.gateway_address}, "
                    f"grpc {server.grpc_address}, "
                    f"operator {server.operator_address}, "
                    f"http {server.http_address}")
        path = herd.process(name).stdout_path
        wait_until(lambda: expected in path.read_text().splitlines(),
                   timeout=10, what=f"{expected!r} in {path}")


def list_services(herd, stubs, name):
    reflection = stubs.reflection_pb2_grpc.ServerReflectionStub(herd.channel(name))
    request = stubs.reflection_pb2.ServerReflectionRequest(list_services="")
    responses = list(reflection.ServerReflectionInfo(iter([request]), timeout=10))
    assert len(responses) == 1
    return {s.name for s in responses[0].list_services_response.service}


def test_reflection_lists_and_describes_the_services(herd, stubs):
    for name in herd.names:
        services = list_services(herd, stubs, name)
        assert {"herd.v1.HerdNode", "grpc.health.v1.Health"} <= services, services

    # What `grpcurl describe herd.v1.HerdNode` needs: the defining file.
    reflection = stubs.reflection_pb2_grpc.ServerReflectionStub(herd.channel("Parker"))
    request = stubs.reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="herd.v1.HerdNode")
    (response,) = list(reflection.ServerReflectionInfo(iter([request]), timeout=10))
    files = response.file_descriptor_response.file_descriptor_proto
    assert files, response
    names = set()
    for serialized in files:
        proto = descriptor_pb2.FileDescriptorProto.FromString(serialized)
        names.update(f"{proto.package}.{s.name}" for s in proto.service)
    assert "herd.v1.HerdNode" in names


def test_health_is_serving_everywhere(herd, stubs):
    request = stubs.health_pb2.HealthCheckRequest(service="")
    for name in herd.names:
        response = herd.health(name).Check(request, timeout=5)
        assert response.status == stubs.health_pb2.HealthCheckResponse.SERVING, name


def test_get_status_describes_the_node_and_its_links(herd):
    links = {}
    for link in herd.config.links:
        links.setdefault(link.a, set()).add(link.b)
        links.setdefault(link.b, set()).add(link.a)
    for name in herd.names:
        status = herd.status(name)
        assert status.name == name
        assert status.epoch
        assert {p.name for p in status.peers} == links[name]
        for peer in status.peers:
            assert peer.grpc_address == herd.server(peer.name).grpc_address
