"""Bad flags and bad herd files: herdnode exits non-zero at once, with a
message on stderr that names the problem (never a crash, never a hang)."""

import socket
import subprocess

import pytest
from google.protobuf import text_format

from local_herd import config_on_free_ports, sanitizer_report

EXIT_TIMEOUT = 15


def run_herdnode(herdnode_bin, *args):
    try:
        result = subprocess.run([str(herdnode_bin), *map(str, args)],
                                capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"herdnode {' '.join(map(str, args))} still running after "
                    f"{EXIT_TIMEOUT} s; it should have refused to start")
    # Under a sanitizer a report's exit status (ASan's 1, LeakSanitizer's 23)
    # would pass for a refusal: the stderr text tells them apart.
    report = sanitizer_report(result.stderr)
    assert report is None, f"sanitizer report from herdnode:\n{report}"
    return result


def assert_refused(result, *words):
    assert result.returncode > 0, (
        f"exit status {result.returncode} (negative: killed by a signal); "
        f"stderr:\n{result.stderr}")
    assert result.stderr.strip(), "no message on stderr"
    for word in words:
        assert word.lower() in result.stderr.lower(), (
            f"stderr does not mention {word!r}:\n{result.stderr}")


@pytest.fixture
def write_config(stubs, tmp_path):
    """Writes the shipped herd (free ports), changed by edit, to a file."""
    def write(edit=None, name="herd.textproto"):
        config = config_on_free_ports(stubs, tmp_path / "logs",
                                      certs_dir=tmp_path / "certs")
        if edit:
            edit(config)
        path = tmp_path / name
        path.write_text(text_format.MessageToString(config))
        return path, config
    return write


def test_no_flags(herdnode_bin):
    assert_refused(run_herdnode(herdnode_bin), "config")


def test_no_config_flag(herdnode_bin):
    assert_refused(run_herdnode(herdnode_bin, "--name", "Alford"), "config")


def test_no_name_flag(herdnode_bin, write_config):
    path, _ = write_config()
    assert_refused(run_herdnode(herdnode_bin, "--config", path), "name")


def test_unknown_flag(herdnode_bin, write_config):
    path, _ = write_config()
    assert_refused(run_herdnode(herdnode_bin, "--config", path, "--name",
                                "Alford", "--bogus_flag=1"), "bogus_flag")


@pytest.mark.parametrize("threads", ["0", "-1", "65"])
def test_grpc_threads_out_of_range(herdnode_bin, write_config, threads):
    path, _ = write_config()
    assert_refused(run_herdnode(herdnode_bin, "--config", path, "--name",
                                "Alford", f"--grpc_threads={threads}"),
                   "grpc_threads", threads)


@pytest.mark.parametrize("seconds", ["-1", "3601", "soon"])
def test_watch_herd_file_out_of_range(herdnode_bin, write_config, seconds):
    path, _ = write_config()
    assert_refused(run_herdnode(herdnode_bin, "--config", path, "--name",
                                "Alford", f"--watch_herd_file={seconds}"),
                   "watch_herd_file", seconds)


def test_bad_listen_host(herdnode_bin, write_config):
    path, _ = write_config()
    assert_refused(run_herdnode(herdnode_bin, "--config", path, "--name",
                                "Alford", "--listen_host=no such host"),
                   "--listen_host", "no such host")


def test_missing_config_file(herdnode_bin, tmp_path):
    missing = tmp_path / "no-such-herd.textproto"
    assert_refused(run_herdnode(herdnode_bin, "--config", missing, "--name",
                                "Alford"), str(missing))


def test_config_syntax_error(herdnode_bin, tmp_path):
    path = tmp_path / "broken.textproto"
    path.write_text('servers { name: "Alford" gateway_address: }\n'
                    'links { a: "Alford" b: "Parker"\n')
    assert_refused(run_herdnode(herdnode_bin, "--config", path, "--name",
                                "Alford"), str(path))


def test_unknown_server_name(herdnode_bin, write_config):
    path, _ = write_config()
    assert_refused(run_herdnode(herdnode_bin, "--config", path, "--name",
                                "Nobody"), "Nobody")


def duplicate_alford(config):
    # Ports stay distinct, so the name is the only problem.
    config.servers[1].name = "Alford"


def link_to_nowhere(config):
    config.links.add(a="Alford", b="Nowhere")


def port_out_of_range(config):
    config.servers[0].gateway_address = "127.0.0.1:99999"


def tls_gateway_without_section(config):
    config.servers[0].tls_gateway_address = "127.0.0.1:1"


def no_gateway_at_all(config):
    config.servers[0].ClearField("gateway_address")


def client_ca_missing(config):
    config.servers[0].tls_gateway_address = "127.0.0.1:1"
    config.gateway_tls.client_ca_cert_path = "/nonexistent/client-ca.crt"


def gateway_key_of_another_certificate(config):
    config.servers[0].tls_gateway_address = "127.0.0.1:1"
    config.gateway_tls.client_ca_cert_path = config.tls.ca_cert_path
    config.gateway_tls.cert_path = config.tls.cert_path
    config.gateway_tls.key_path = config.tls.key_path.replace("{name}", "Parker")


# case -> (change to the shipped herd, words stderr must all contain, words
# of which it must contain one)
BAD_HERD_FILES = {
    "duplicate_server_name": (duplicate_alford, ["Alford"],
                              ["duplicate", "twice", "more than once",
                               "already", "unique"]),
    "link_to_unknown_server": (link_to_nowhere, ["Nowhere"], []),
    "port_out_of_range": (port_out_of_range, ["99999"], []),
    "tls_gateway_without_gateway_tls": (tls_gateway_without_section,
                                        ["tls_gateway_address", "gateway_tls"], []),
    "no_gateway_at_all": (no_gateway_at_all, ["Alford", "no gateway"], []),
    "client_ca_missing": (client_ca_missing,
                          ["gateway_tls.client_ca_cert_path",
                           "/nonexistent/client-ca.crt"], []),
    "gateway_key_of_another_certificate": (
        gateway_key_of_another_certificate,
        ["gateway_tls.key_path", "Parker.key", "is not the key of"], []),
}


@pytest.mark.parametrize("case", sorted(BAD_HERD_FILES))
def test_bad_herd_file(herdnode_bin, write_config, case):
    edit, required, one_of = BAD_HERD_FILES[case]
    path, _ = write_config(edit)
    result = run_herdnode(herdnode_bin, "--config", path, "--name", "Alford")
    assert_refused(result, *required)
    if one_of:
        assert any(w in result.stderr.lower() for w in one_of), result.stderr


@pytest.mark.parametrize("field", ["gateway_address", "grpc_address",
                                   "operator_address"])
def test_port_in_use(herdnode_bin, write_config, field):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"

        def occupied(config):
            setattr(config.servers[0], field, address)
        path, config = write_config(occupied)
        assert_refused(run_herdnode(herdnode_bin, "--config", path, "--name",
                                    config.servers[0].name), address)


def test_log_directory_cannot_be_created(herdnode_bin, write_config, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    log_dir = blocker / "logs"
    path, _ = write_config()
    assert_refused(run_herdnode(herdnode_bin, "--config", path, "--name",
                                "Alford", "--log_dir", log_dir), str(log_dir))
