"""The client half of Kubernetes' streaming protocols, as kubelet's clients (kubectl exec, attach,
port-forward) speak them to the URL a CRI Exec, Attach or PortForward returns: a WebSocket
(RFC 6455) with a channel subprotocol, written here with the standard library only.

remotecommand over `v4.channel.k8s.io`: every binary message starts with its channel byte:
0 stdin, 1 stdout, 2 stderr, 3 the final Status as JSON, 4 terminal resize as JSON
{"Width": W, "Height": H}. v4 has no half-close: stdin ends when the connection does.
portforward over the same subprotocol: per requested port a data channel (2i) and an error
channel (2i+1), each opened by the server with the port as 2 bytes little endian.

containerd's streaming server listens on loopback in containerd's own network namespace: the
socket is made there (setns for this thread, then straight back)."""
import base64
import ctypes
import json
import os
import socket
import struct
import threading
import time
from urllib.parse import urlsplit

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

STDIN, STDOUT, STDERR, ERROR, RESIZE = range(5)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


def connect_in_netns(pid, host, port, timeout):
    """A TCP connection to host:port made from the network namespace of process `pid`."""
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    theirs = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        _setns(theirs)
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            _setns(own)
    finally:
        os.close(theirs)
        os.close(own)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


class Closed(Exception):
    """The server ended the WebSocket (close frame or end of stream)."""


class ChannelSocket:
    """One WebSocket with the k8s channel subprotocol; `received[ch]` collects what came on ch."""

    def __init__(self, netns_pid, url, protocol="v4.channel.k8s.io", timeout=20):
        u = urlsplit(url)
        self.sock = connect_in_netns(netns_pid, u.hostname, u.port or 80, timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path + (f"?{u.query}" if u.query else "")
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Sec-WebSocket-Protocol: {protocol}\r\nOrigin: http://{u.netloc}\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise AssertionError(f"WebSocket handshake with {url}: connection closed after {head!r}")
            head += chunk
        status, *headers = head.decode("latin-1").split("\r\n")
        assert status.split()[1] == "101", f"WebSocket handshake with {url}: {head!r}"
        fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in headers if h)}
        self.protocol = fields.get("sec-websocket-protocol", "")
        self.buf = b""
        self.received = {}
        self.closed = False

    def send(self, channel, data, opcode=2):
        payload = bytes([channel]) + (data.encode() if isinstance(data, str) else data)
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def resize(self, width, height):
        self.send(RESIZE, json.dumps({"Width": width, "Height": height}))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed()
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _message(self):
        """One whole message: (opcode, payload)."""
        data, first = b"", None
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            part = self._read(n)
            if mask:
                part = bytes(b ^ mask[i % 4] for i, b in enumerate(part))
            op = b0 & 0x0F
            if op >= 8:  # control frames may come between fragments
                if op == 8:
                    raise Closed()
                if op == 9:
                    self.sock.sendall(bytes([0x8A, 0x80 | len(part)]) + b"\0\0\0\0" + part)
                continue
            first = op if first is None else first
            data += part
            if b0 & 0x80:
                return first, data

    def pump(self):
        """Reads one message into `received`; False once the server has closed."""
        if self.closed:
            return False
        try:
            _, data = self._message()
        except Closed:
            self.closed = True
            return False
        if data:
            self.received.setdefault(data[0], bytearray()).extend(data[1:])
        return True

    def text(self, channel):
        return bytes(self.received.get(channel, b"")).decode(errors="replace")

    def wait(self, until, timeout=20, what="output"):
        """Reads until until(self) holds; fails naming what was seen if it never does."""
        deadline = time.time() + timeout
        while not until(self):
            if time.time() > deadline or not self.pump():
                if until(self):
                    break
                raise AssertionError(f"never got {what}; closed={self.closed}, received "
                                     f"{ {k: bytes(v) for k, v in self.received.items()} }")
        return self

    def drain(self, timeout=20):
        """Reads until the server closes the connection."""
        return self.wait(lambda s: s.closed, timeout, "the end of the stream")

    def status(self):
        """The Status JSON of channel 3 (None when none came)."""
        text = self.text(ERROR)
        return json.loads(text) if text else None

    def close(self):
        try:
            self.sock.sendall(bytes([0x88, 0x82]) + b"\0\0\0\0" + struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()
