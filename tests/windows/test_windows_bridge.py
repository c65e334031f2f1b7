#coding=utf-8
"""What only the Windows build has to show, run by scripts/test-windows.sh against
xtbridge.exe and xtbctl.exe under Wine (XTB_BRIDGE_CMD="wine .../xtbridge.exe",
XTB_WIN_XTBCTL=.../xtbctl.exe, XTB_TRANSPORT=tcp). The contract itself is the Linux suites,
run unchanged against the same .exe by that script; these cover the platform layer
(bridge/brg_compat.c): ipc:// refused with a clear message, the data-dir lock (LockFileEx)
naming the holder and released at exit, a stop request ending the bridge cleanly, and the
C client library in xtbctl.exe.
"""

import os
import re
import shlex
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'python'))
import conftest as harness  # noqa: E402  (tests/python's helpers: start_bridge, raw_call)
from xtbridge._pb import pb2  # noqa: E402

BRIDGE_CMD = shlex.split(os.environ.get('XTB_BRIDGE_CMD', ''))
XTBCTL_CMD = BRIDGE_CMD[:-1] + [os.environ.get('XTB_WIN_XTBCTL', '')]


@pytest.fixture(autouse=True)
def windows_build():
    # run by scripts/test-windows.sh only; anywhere else this is a failure, not a skip
    assert BRIDGE_CMD and BRIDGE_CMD[-1].endswith('.exe'), \
        'XTB_BRIDGE_CMD must run xtbridge.exe (scripts/test-windows.sh sets it)'
    assert os.path.isfile(XTBCTL_CMD[-1]), 'XTB_WIN_XTBCTL must name xtbctl.exe'
    assert os.environ.get('XTB_TRANSPORT') == 'tcp'


def tcp():
    return 'tcp://127.0.0.1:%d' % harness.free_tcp_port()


def run(args, timeout=60):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors='replace', timeout=timeout)


def test_ipc_endpoint_is_a_usage_error_naming_tcp(tmp_path):
    out = run(BRIDGE_CMD + ['--backend', 'sim', '--router', 'ipc://xtbridge-req', '--pub',
                            tcp(), '--data', str(tmp_path / 'data')])
    assert out.returncode == 1, out.stdout
    assert ("xtbridge: router 'ipc://xtbridge-req': ipc:// is not available on this system "
            "(Windows): use tcp://127.0.0.1:PORT") in out.stdout, out.stdout


def test_second_bridge_on_a_data_dir_is_refused_naming_the_first(tmp_path):
    pb = pb2()
    first = harness.start_bridge(tcp(), tcp(), tmp_path, pb)
    try:
        data = os.path.join(str(tmp_path), 'data')
        out = run(BRIDGE_CMD + ['--backend', 'sim', '--router', tcp(), '--pub', tcp(),
                                '--data', data])
        assert out.returncode == 2, out.stdout
        m = re.search(r"another xtbridge \(pid (\d+)\) is using data dir '([^']*)'", out.stdout)
        assert m, out.stdout
        assert m.group(2) == data
        # the first one still serves
        rep = harness.raw_call(first.router, pb, 'ping', pb.PingRequest(client_time_ns=5))
        assert rep is not None and rep.error.code == pb.OK and rep.ping.client_time_ns == 5
    finally:
        assert first.terminate() == 0, first.log()
    # its exit released the lock: a new bridge opens the same data dir
    again = harness.start_bridge(tcp(), tcp(), tmp_path, pb)
    assert again.terminate() == 0, again.log()


def test_sigint_is_ctrl_c_and_stops_cleanly(tmp_path):
    """Wine turns SIGINT into the console's Ctrl-C event: czmq's console handler ends the
    loop and the bridge closes its store and exits 0."""
    pb = pb2()
    b = harness.start_bridge(tcp(), tcp(), tmp_path, pb)
    b.proc.send_signal(signal.SIGINT)
    assert b.proc.wait(15) == 0, b.log()
    assert 'stopping: ' in b.log(), b.log()


def test_xtbctl_exe_drives_the_bridge(tmp_path):
    pb = pb2()
    b = harness.start_bridge(tcp(), tcp(), tmp_path, pb)
    try:
        ctl = XTBCTL_CMD + ['--router', b.router, '--timeout', '5000']
        out = run(ctl + ['hello'])
        assert out.returncode == 0, out.stdout
        assert 'backend:          sim\n' in out.stdout, out.stdout
        assert b.pub in out.stdout, out.stdout
        out = run(ctl + ['order', '600000.SH', 'buy', '1000', '10.50'])
        assert out.returncode == 0, out.stdout
        assert out.stdout.replace('\r\n', '\n') == 'order_id 1 ORDER_REPORTED\n', out.stdout
        out = run(ctl + ['orders'])
        assert out.returncode == 0, out.stdout
        assert out.stdout.startswith('ORDER_ID'), out.stdout
        assert '600000.SH' in out.stdout, out.stdout
        # a request the bridge refuses: its error reply, exit code 1
        out = run(ctl + ['order', '600000.SH', 'buy', '0', '10.50'])
        assert out.returncode == 1, out.stdout
        assert 'xtbctl: error INVALID_ARGUMENT: order_volume must be > 0' in out.stdout, \
            out.stdout
    finally:
        assert b.terminate() == 0, b.log()
