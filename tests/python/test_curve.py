#coding=utf-8
"""The Python client against a bridge run with CURVE (--curve-secret/--clients): keys made
here with `xtbctl keygen` (czmq cert files), given to XtQuantTrader as cert files
(curve_cert/curve_server, or $XTBRIDGE_CURVE_CERT/$XTBRIDGE_CURVE_SERVER for unchanged
strategies) or as z85 keys. A trader of account A is served and gets A's callbacks, an
order for account B is refused, and a plaintext trader cannot connect.
"""

import os
import subprocess

import pytest
import zmq
import zmq.auth

from xtquant import xtconstant
from xtquant.xttype import StockAccount

from conftest import BRIDGE_BIN, start_bridge

XTBCTL = os.path.join(os.path.dirname(BRIDGE_BIN), 'xtbctl')
A, B = '1000000365', '1000000366'
CONFIG = ('sim\n'
          '    account\n        id = %s\n        cash = 1000000\n'
          '    account\n        id = %s\n        cash = 1000000\n' % (A, B))


def keygen(path, accounts, role):
    out = subprocess.run([XTBCTL, 'keygen', path, '--accounts', accounts, '--role', role],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    assert out.returncode == 0, out.stdout


@pytest.fixture
def secure(endpoints, tmp_path, pb):
    assert zmq.has('curve')
    clients = tmp_path / 'clients'
    clients.mkdir()
    keys = tmp_path / 'keys'
    keys.mkdir()
    # the bridge's own cert pair: czmq format, written by pyzmq
    server_public, server_secret = zmq.auth.create_certificates(str(keys), 'server')
    keygen(str(keys / 'admin'), '*', 'admin')
    keygen(str(keys / 'trader_a'), A, 'trader')
    os.rename(str(keys / 'admin'), str(clients / 'admin'))
    os.rename(str(keys / 'trader_a'), str(clients / 'trader_a'))
    config = tmp_path / 'bridge.cfg'
    config.write_text(CONFIG)
    pub, sec = zmq.auth.load_certificate(str(keys / 'admin_secret'))
    spub, _ = zmq.auth.load_certificate(server_public)
    b = start_bridge(endpoints[0], endpoints[1], tmp_path, pb, config=str(config),
                     extra_args=['--curve-secret', server_secret, '--clients', str(clients)],
                     curve={'server_public_key': spub, 'public_key': pub, 'secret_key': sec})
    b.keys = keys
    b.server_cert = server_public
    yield b
    rc = b.terminate()
    assert rc == 0, 'bridge exit code %s after SIGTERM:\n%s' % (rc, b.log())


def test_trader_with_cert_files_is_served_for_its_account_only(secure, make_trader):
    trader, rec = make_trader(secure.router, timeout=3.0,
                              curve_cert=str(secure.keys / 'trader_a_secret'),
                              curve_server=secure.server_cert)
    assert trader.connect_result == 0
    assert [a.account_id for a in trader.query_account_infos()] == [A]
    assert trader.subscribe(StockAccount(A)) == 0
    oid = trader.order_stock(StockAccount(A), '600000.SH', xtconstant.STOCK_BUY, 100,
                             xtconstant.FIX_PRICE, 10.60, 's', 'r')
    assert oid > 0
    assert rec.wait_for(lambda ev: any(n == 'on_stock_trade' and t.order_id == oid
                                       for n, t in ev), 5)
    # another account: refused, nothing placed
    assert trader.order_stock(StockAccount(B), '600000.SH', xtconstant.STOCK_BUY, 100,
                              xtconstant.FIX_PRICE, 10.60, 's', 'r') == -1
    assert trader.query_stock_orders(StockAccount(B)) is None  # FORBIDDEN, logged
    admin, _ = make_trader(secure.router, timeout=3.0,
                           curve_cert=str(secure.keys / 'admin_secret'),
                           curve_server=secure.server_cert)
    assert admin.connect_result == 0
    assert sorted(a.account_id for a in admin.query_account_infos()) == [A, B]
    assert admin.query_stock_orders(StockAccount(B)) == []
    assert [o.order_id for o in admin.query_stock_orders(StockAccount(A))] == [oid]


def test_env_vars_and_plaintext(secure, make_trader, monkeypatch):
    monkeypatch.setenv('XTBRIDGE_CURVE_CERT', str(secure.keys / 'trader_a_secret'))
    monkeypatch.setenv('XTBRIDGE_CURVE_SERVER', secure.server_cert)
    trader, _ = make_trader(secure.router, timeout=3.0)
    assert trader.connect_result == 0
    monkeypatch.delenv('XTBRIDGE_CURVE_CERT')
    monkeypatch.delenv('XTBRIDGE_CURVE_SERVER')
    plain, _ = make_trader(secure.router, timeout=1.0)
    assert plain.connect_result == -1
