#coding=utf-8
"""Runs the vendor doc's quick-start strategy (快速入门 / 创建策略) as written, in a fresh
interpreter, against the real bridge: only run_forever() is swapped for stop() so the
script ends. Its MiniQMT path is a Windows userdata_mini path, so the endpoint comes from
$XTBRIDGE_ENDPOINT - exactly how an unchanged strategy is pointed at a bridge."""

import os
import re
import subprocess
import sys

from conftest import REPO

DOC = os.environ.get('XTB_API_DOC', '/work/shared/reference/xttrader-api.md')


def test_doc_quickstart_runs_unchanged(bridge, tmp_path):
    import pytest
    if not os.path.exists(DOC):
        pytest.skip('vendor doc not present')
    with open(DOC, encoding='utf-8') as f:
        doc = f.read()
    script = re.search(r'### \[#\] 创建策略\n\n```\n(.*?)```', doc, re.S).group(1)
    assert 'xt_trader.run_forever()' in script
    script = script.replace('xt_trader.run_forever()', 'xt_trader.stop()')
    path = tmp_path / 'quickstart.py'
    path.write_text(script, encoding='utf-8')
    env = dict(os.environ, XTBRIDGE_ENDPOINT=bridge.router,
               PYTHONPATH=os.path.join(REPO, 'clients', 'python'))
    proc = subprocess.run([sys.executable, str(path)], env=env, capture_output=True,
                          text=True, timeout=60)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    lines = out.splitlines()
    # Callback prints (another thread) interleave with the script's own prints, so read
    # each result as the first bare integer line after its caption.
    def after(caption):
        rest = lines[lines.index(caption) + 1:]
        return int(next(l for l in rest if re.fullmatch(r'-?\d+', l)))
    assert after('demo test') == 0                       # connect()
    assert lines[lines.index('demo test') + 2] == '0'     # subscribe()
    order_id = after('order using the fix price:')
    assert order_id > 0
    assert after('cancel order:') == 0
    assert after('order using async api:') > 0
    assert 'cash ' in out and 'order %d' % order_id in out
    assert 'orders: 2' in out
    assert 'on order callback:' in out
