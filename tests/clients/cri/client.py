"""A CRI v1 client for the tests: the stubs generated from the vendored api.proto (README.md)
into a temp dir on first use, and a small wrapper that speaks to containerd's CRI socket as
kubelet does."""
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc

HERE = Path(__file__).resolve().parent
_modules = None


def stubs():
    """(api_pb2, api_pb2_grpc), generated once per process."""
    global _modules
    if _modules is None:
        out = Path(tempfile.mkdtemp(prefix="hull-cri-stubs-"))
        text = (HERE / "api.proto").read_text()
        # protoc 3.5 does not know this option; it only guides loggers (README.md).
        (out / "api.proto").write_text(re.sub(r"\s*\[debug_redact\s*=\s*true\]", "", text))
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{out}", f"--python_out={out}",
                        f"--grpc_python_out={out}", str(out / "api.proto")], check=True, capture_output=True)
        sys.path.insert(0, str(out))
        try:
            _modules = (importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc"))
        finally:  # imported: the generated files are not needed any more, and leave nothing
            sys.path.remove(str(out))
            shutil.rmtree(out)
    return _modules


class CRI:
    """RuntimeService and ImageService on one unix socket; every call with a deadline."""

    def __init__(self, socket: Path, timeout=60):
        self.pb, grpc_mod = stubs()
        self.channel = grpc.insecure_channel(f"unix://{socket}")
        self.runtime = grpc_mod.RuntimeServiceStub(self.channel)
        self.images = grpc_mod.ImageServiceStub(self.channel)
        self.timeout = timeout

    def __call__(self, method, **fields):
        """CRI("RunPodSandbox", config=...): the request built from fields, the response back."""
        service = self.images if hasattr(self.images, method) and method.endswith(("Image", "Images", "FsInfo")) \
            else self.runtime
        request = getattr(self.pb, f"{method}Request")(**fields)
        return getattr(service, method)(request, timeout=self.timeout)

    def close(self):
        self.channel.close()
