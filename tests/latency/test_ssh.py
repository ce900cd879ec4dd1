"""``profile --ssh``: a real sshd on localhost, a real remote ``ofa-edge profile``, scp back.

Needs the OpenSSH server (`apt-get install -y openssh-server`); the test starts its own sshd
on a free port with throw-away keys and skips (saying why) only if sshd cannot be started.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ofa_edge.errors import UserError
from ofa_edge.latency.profiler import remeasure_path
from ofa_edge.latency.ssh import profile_over_ssh
from ofa_edge.latency.table import LatencyTable, lock_table
from ofa_edge.paths import SHIPPED_TABLES

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    sshd_bin = shutil.which("sshd") or "/usr/sbin/sshd"
    if not (Path(sshd_bin).is_file() and shutil.which("ssh") and shutil.which("scp")):
        pytest.skip("OpenSSH server not installed (apt-get install -y openssh-server)")
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "authorized_keys").write_text((d / "user.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\nAuthorizedKeysFile {d / 'authorized_keys'}\n"
        f"PidFile {d / 'sshd.pid'}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "PermitRootLogin prohibit-password\nPubkeyAuthentication yes\nSubsystem sftp internal-sftp\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True) if os.geteuid() == 0 else None
    proc = subprocess.Popen([sshd_bin, "-D", "-e", "-f", str(d / "sshd_config")], stderr=subprocess.PIPE, text=True)
    opts = [
        f"Port={port}",
        f"IdentityFile={d / 'user'}",
        f"UserKnownHostsFile={d / 'known_hosts'}",
        "StrictHostKeyChecking=accept-new",
        "ConnectTimeout=10",
    ]
    target = f"{getpass.getuser()}@127.0.0.1"
    probe = ["ssh", "-o", "BatchMode=yes", *[a for o in opts for a in ("-o", o)], target, "true"]
    for _ in range(50):
        if proc.poll() is not None:
            pytest.skip(f"sshd could not be started: {proc.stderr.read().strip()[-300:]}")
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            break
        time.sleep(0.2)
    else:
        proc.terminate()
        pytest.skip("sshd started but key login to 127.0.0.1 failed")
    yield target, opts, d
    proc.terminate()
    proc.wait(timeout=10)


def test_profile_over_ssh_round_trips(sshd, cli, tmp_path, monkeypatch):
    """A device of yours (unknown on the remote machine: its file goes along) profiled over ssh."""
    import yaml

    from ofa_edge.paths import SHIPPED_DEVICES

    target, opts, d = sshd
    devices = tmp_path / "devices"
    devices.mkdir()
    doc = yaml.safe_load((SHIPPED_DEVICES / "x86-cpu.yaml").read_text())
    del doc["name"]  # named by its file, as the README lets a device file be
    (devices / "my-board.yaml").write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(devices))
    remote_home = d / "remote"
    remote_home.mkdir()
    remote_cmd = (
        f"cd {shlex.quote(str(remote_home))} && OMP_NUM_THREADS=1 PYTHONPATH={shlex.quote(str(REPO))} "
        f"{shlex.quote(sys.executable)} -m ofa_edge"
    )
    local = tmp_path / "my-board.json"
    complete = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    complete.save(local)  # a complete table of yours there: a partial one from the remote must not replace it
    before = local.read_bytes()
    args = [
        "profile",
        "--device",
        "my-board",
        "--resolutions",
        "24",
        "--warmup",
        "0",
        "--repeats",
        "2",
        "--max-entries",
        "2",
        "--ssh",
        target,
        "--remote-cmd",
        remote_cmd,
        "-o",
        str(local),
        "--json",
    ]
    for o in opts:
        args += ["--ssh-opt", o]
    code, out, err = cli(*args)
    assert code == 0, err
    assert "table is partial" in err  # the remote process's own notes reach this terminal
    assert "kept beside your complete" in " ".join(err.split()) and local.read_bytes() == before
    result = json.loads(out)
    remote_file = Path(result["remote_table"])
    assert remote_file.is_relative_to(remote_home) and remote_file.is_file()  # the remote process wrote it
    assert result["table"] == str(remeasure_path(local))
    table = LatencyTable.load(remeasure_path(local), require_complete=False)
    remote = json.loads(remote_file.read_text())
    assert table.entries == {
        k: {f: v[f] for f in ("count", "mean", "std", "median")} for k, v in remote["entries"].items()
    }
    assert len(table.entries) == 2 and not table.complete
    assert table.provenance["fetched"]["via"] == f"ssh {target}"
    assert table.provenance["kind"] == "measured" and table.provenance["backend"] == "onnxruntime-cpu"
    assert table.provenance["device"] == "my-board"  # the remote machine knew it from the file sent


def test_unreachable_host_is_a_user_error(cli, tmp_path):
    code, _, err = cli(
        "profile",
        "--ssh",
        "nobody@127.0.0.1",
        "--ssh-opt",
        f"Port={_free_port()}",
        "--ssh-opt",
        "ConnectTimeout=3",
        "-o",
        str(tmp_path / "t.json"),
    )
    assert code == 2 and "cannot reach" in err


def test_ssh_options_without_ssh_do_not_profile_here(cli, tmp_path):
    code, _, err = cli("profile", "--ssh-opt", "Port=2222", "--remote-cmd", "ofa", "-o", str(tmp_path / "t.json"))
    msg = " ".join(err.split())
    assert code == 2 and "--ssh-opt and --remote-cmd configure profiling over ssh" in msg and "Add --ssh" in msg
    assert not (tmp_path / "t.json").exists()


def test_a_fetch_into_a_table_another_profile_writes_is_refused_before_ssh_runs(tmp_path):
    path = tmp_path / "x86-cpu.json"
    with lock_table(path), pytest.raises(UserError, match=r"another `ofa-edge profile` \(process \d+\)"):
        profile_over_ssh("nobody@host.invalid", "", [], path, remote_cmd="ofa-edge", ssh_opts=[])
    assert not path.exists()


def test_ctrl_c_here_stops_the_remote_profile(sshd, tmp_path):
    """Without a terminal sshd does not pass Ctrl-C on: the remote profile went on measuring (and held its
    table's lock) after the local command had stopped."""
    import signal

    target, opts, d = sshd
    remote_home = d / "remote-interrupted"
    remote_home.mkdir()
    remote_cmd = (
        f"cd {shlex.quote(str(remote_home))} && OMP_NUM_THREADS=1 PYTHONPATH={shlex.quote(str(REPO))} "
        f"{shlex.quote(sys.executable)} -m ofa_edge"
    )
    args = ["profile", "--resolutions", "24", "--warmup", "0", "--repeats", "100", "--ssh", target]
    args += ["--remote-cmd", remote_cmd, "-o", str(tmp_path / "x86-cpu.json")]
    for o in opts:
        args += ["--ssh-opt", o]
    env = os.environ | {"PYTHONPATH": str(REPO), "COLUMNS": "200"}
    local = subprocess.Popen(
        [sys.executable, "-m", "ofa_edge", *args], stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    said = []
    for line in local.stderr:  # the remote run names its process first
        said.append(line)
        if "remote profile: process" in line:
            remote_pid = int(line.split("remote profile: process")[1].split()[0])
            break
    else:
        pytest.fail("".join(said))
    time.sleep(8)  # measuring by now, past its first notes (a remote that writes to the closed pipe dies)
    os.killpg(local.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the local process group
    local.communicate(timeout=60)
    for _ in range(80):
        try:
            os.kill(remote_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(remote_pid, signal.SIGKILL)
        pytest.fail("the remote profile was still running 8 s after Ctrl-C")
    assert local.returncode != 0
