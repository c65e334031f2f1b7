"""Finds the generated protobuf module (xtbridge_pb2) of proto/xtbridge.proto.

The module is generated at build time, never committed. Looked up in this order:
1. $XTBRIDGE_PB2_DIR/xtbridge_pb2.py - the CMake build puts it in <build>/python/;
2. xtbridge/xtbridge_pb2.py inside this package - where `pip install clients/python`
   generates it;
3. as a developer convenience, when running from a source tree with `protoc` on PATH:
   generated from <repo>/proto/xtbridge.proto into ~/.cache/xtbridge/<hash of the proto>/.
Anything else raises ImportError saying how to build it.
"""

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys

_MODULE = None


def _load_file(path):
    spec = importlib.util.spec_from_file_location('xtbridge_pb2', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Register under the top-level name too, so a second loader (tests) reuses it:
    # protobuf refuses to register the same .proto file twice in one process.
    sys.modules.setdefault('xtbridge_pb2', module)
    return module


def _generate_from_source_tree():
    here = os.path.dirname(os.path.abspath(__file__))
    proto = os.path.normpath(os.path.join(here, '..', '..', '..', 'proto', 'xtbridge.proto'))
    protoc = shutil.which('protoc')
    if not (os.path.exists(proto) and protoc):
        return None
    with open(proto, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    out = os.path.join(os.path.expanduser('~'), '.cache', 'xtbridge', digest)
    target = os.path.join(out, 'xtbridge_pb2.py')
    if not os.path.exists(target):
        os.makedirs(out, exist_ok=True)
        subprocess.run([protoc, '--python_out=' + out, '-I' + os.path.dirname(proto), proto],
                       check=True)
    return target


def pb2():
    """Returns the xtbridge_pb2 module (loaded once)."""
    global _MODULE
    if _MODULE is not None:
        return _MODULE
    if 'xtbridge_pb2' in sys.modules:
        _MODULE = sys.modules['xtbridge_pb2']
        return _MODULE
    env_dir = os.environ.get('XTBRIDGE_PB2_DIR')
    candidates = []
    if env_dir:
        candidates.append(os.path.join(env_dir, 'xtbridge_pb2.py'))
    candidates.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'xtbridge_pb2.py'))
    for path in candidates:
        if os.path.exists(path):
            _MODULE = _load_file(path)
            return _MODULE
    generated = _generate_from_source_tree()
    if generated:
        _MODULE = _load_file(generated)
        return _MODULE
    raise ImportError(
        'xtbridge_pb2 not found: build the project (cmake --build <dir>, which writes '
        '<dir>/python/xtbridge_pb2.py) and set XTBRIDGE_PB2_DIR=<dir>/python, or install '
        'the package with pip (which generates it)')
