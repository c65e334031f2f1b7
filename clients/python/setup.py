"""Build hook for pyproject.toml: generates xtbridge/xtbridge_pb2.py from the proto.

The proto is looked up at $XTBRIDGE_PROTO, then ../../proto/xtbridge.proto (this
directory inside the xtbridge repository; pip >= 21.3 builds in place so the path holds).
protoc comes from PATH, else from grpcio-tools (python -m grpc_tools.protoc).
"""

import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def find_proto():
    for path in (os.environ.get('XTBRIDGE_PROTO'),
                 os.path.join(HERE, '..', '..', 'proto', 'xtbridge.proto')):
        if path and os.path.exists(path):
            return os.path.abspath(path)
    sys.exit('xtbridge: proto/xtbridge.proto not found; set XTBRIDGE_PROTO')


class BuildWithProto(build_py):
    def run(self):
        super().run()
        proto = find_proto()
        out = os.path.join(self.build_lib, 'xtbridge')
        os.makedirs(out, exist_ok=True)
        args = ['--python_out=' + out, '-I' + os.path.dirname(proto), proto]
        protoc = shutil.which('protoc')
        cmd = [protoc] + args if protoc else [sys.executable, '-m', 'grpc_tools.protoc'] + args
        subprocess.run(cmd, check=True)


setup(cmdclass={'build_py': BuildWithProto})
