"""The client half of Kubernetes' streaming protocols, as kubelet's clients (kubectl exec, attach,
port-forward; the API server towards kubelet) speak them to the URL a CRI Exec, Attach or
PortForward returns, over either transport, written here with the standard library only:

- WebSocket (RFC 6455) with the subprotocol `v4.channel.k8s.io`: every binary message starts
  with its channel byte. v4 has no half-close: stdin ends when the connection does.
- SPDY/3.1 (HTTP Upgrade, `X-Stream-Protocol-Version: v4.channel.k8s.io` or
  `portforward.k8s.io`): one stream per channel, opened by the client with a `streamtype`
  header; a stream's FIN is its half-close.

remotecommand channels: 0 stdin, 1 stdout, 2 stderr, 3 the final Status as JSON, 4 terminal
resize as JSON {"Width": W, "Height": H}. portforward: per requested port a data channel (2i)
and an error channel (2i+1); over a WebSocket each begins with the port, 2 bytes little endian.

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
import zlib
from urllib.parse import urlsplit

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

STDIN, STDOUT, STDERR, ERROR, RESIZE = range(5)
CHANNEL_NAMES = ("stdin", "stdout", "stderr", "error", "resize")


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
    """The server ended the connection."""


class Session:
    """What both transports share: the connection, the HTTP upgrade, and `received[ch]`, what
    came on channel ch."""

    transport = None

    def __init__(self, netns_pid, url, request_headers, timeout):
        u = urlsplit(url)
        self.url = url
        self.sock = connect_in_netns(netns_pid, u.hostname, u.port or 80, timeout)
        path = u.path + (f"?{u.query}" if u.query else "")
        method = "GET" if self.transport == "websocket" else "POST"
        head = "".join(f"{k}: {v}\r\n" for k, v in [("Host", u.netloc)] + request_headers)
        self.sock.sendall(f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"{self.transport} upgrade at {url}: connection closed after {self.buf!r}")
            self.buf += chunk
        response, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, *lines = response.decode("latin-1").split("\r\n")
        assert status.split()[1] == "101", f"{self.transport} upgrade at {url}: {response!r}"
        self.response_headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        self.received = {}
        self.closed = False

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed()
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _next(self):
        """(channel, data) of the next data message, or (None, b"") for a control one."""
        raise NotImplementedError

    def pump(self):
        """Reads one message into `received`; False once the server has closed."""
        if self.closed:
            return False
        try:
            channel, data = self._next()
        except (Closed, ConnectionResetError):
            self.closed = True
            return False
        if channel is not None:
            self.received.setdefault(channel, bytearray()).extend(data)
        return True

    def text(self, channel):
        return bytes(self.received.get(channel, b"")).decode(errors="replace")

    def wait(self, until, timeout=20, what="output"):
        """Reads until until(self) holds; fails naming what was seen if it never does."""
        deadline = time.time() + timeout
        self.sock.settimeout(timeout)
        while not until(self):
            if time.time() > deadline or not self.pump():
                if until(self):
                    break
                raise AssertionError(f"over {self.transport}: never got {what}; closed={self.closed}, received "
                                     f"{ {k: bytes(v)[-300:] for k, v in self.received.items()} }")
        return self

    def drain(self, timeout=20):
        """Reads until the server closes the connection."""
        return self.wait(lambda s: s.closed, timeout, "the end of the stream")

    def status(self):
        """The Status JSON of the error channel (None when none came)."""
        text = self.text(ERROR)
        return json.loads(text) if text else None

    def resize(self, width, height):
        self.send(RESIZE, json.dumps({"Width": width, "Height": height}))

    def close(self):
        self.sock.close()


def remotecommand_streams(channels):
    """SPDY streams for remotecommand: the error stream first, as kubelet's clients open them."""
    return [(ch, [("streamtype", CHANNEL_NAMES[ch])]) for ch in [ERROR] + sorted(set(channels) - {ERROR})]


class WebSocket(Session):
    transport = "websocket"

    def __init__(self, netns_pid, url, protocol="v4.channel.k8s.io", timeout=20):
        key = base64.b64encode(os.urandom(16)).decode()
        super().__init__(netns_pid, url, [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                          ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
                                          ("Sec-WebSocket-Protocol", protocol),
                                          ("Origin", f"http://{urlsplit(url).netloc}")], timeout)
        self.protocol = self.response_headers.get("sec-websocket-protocol", "")
        self.half_close = False

    def _frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            length = bytes([0x80 | n])
        elif n < 1 << 16:
            length = bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            length = bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode]) + length + mask + masked)

    def send(self, channel, data):
        self._frame(2, bytes([channel]) + (data.encode() if isinstance(data, str) else data))

    def _next(self):
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
                    self._frame(0xA, part)
                continue
            first = op if first is None else first
            data += part
            if b0 & 0x80:
                return (data[0], data[1:]) if data else (None, b"")

    def close(self):
        try:
            self._frame(8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


class SPDY(Session):
    """SPDY/3.1 as spdystream speaks it (no flow control). Header blocks are zlib-compressed
    without SPDY's preset dictionary (the zlib header says so and Go's reader accepts it); the
    server's header blocks (replies) are skipped unread: only DATA matters here."""

    transport = "spdy"

    def __init__(self, netns_pid, url, streams, protocol="v4.channel.k8s.io", timeout=20):
        """streams: (channel, headers) of each stream to open, in this order."""
        super().__init__(netns_pid, url, [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
                                          ("X-Stream-Protocol-Version", protocol)], timeout)
        self.protocol = self.response_headers.get("x-stream-protocol-version", "")
        self.half_close = True
        self.zlib = zlib.compressobj()
        self.stream_of, self.channel_of, self.ended = {}, {}, set()
        for i, (ch, headers) in enumerate(streams):
            sid = 2 * i + 1
            block = struct.pack("!I", len(headers)) + b"".join(
                struct.pack("!I", len(k)) + k.encode() + struct.pack("!I", len(v)) + v.encode() for k, v in headers)
            block = self.zlib.compress(block) + self.zlib.flush(zlib.Z_SYNC_FLUSH)
            self._control(1, 0, struct.pack("!IIH", sid, 0, 0) + block)  # SYN_STREAM
            self.stream_of[ch], self.channel_of[sid] = sid, ch

    def _control(self, kind, flags, payload):
        self.sock.sendall(struct.pack("!HHI", 0x8003, kind, flags << 24 | len(payload)) + payload)

    def send(self, channel, data, fin=False):
        data = data.encode() if isinstance(data, str) else data
        self.sock.sendall(struct.pack("!II", self.stream_of[channel], (1 if fin else 0) << 24 | len(data)) + data)

    def close_stdin(self):
        self.send(STDIN, b"", fin=True)

    def _next(self):
        first, word = struct.unpack("!II", self._read(8))
        flags, n = word >> 24, word & 0xFFFFFF
        payload = self._read(n)
        if first & 0x80000000:
            kind = first & 0xFFFF
            if kind == 6:  # PING: echoed
                self._control(6, 0, payload)
            elif kind == 7:  # GOAWAY
                raise Closed()
            elif kind == 3:  # RST_STREAM
                self.ended.add(self.channel_of.get(struct.unpack("!I", payload[:4])[0] & 0x7FFFFFFF))
            return None, b""
        channel = self.channel_of.get(first & 0x7FFFFFFF)
        if flags & 1:
            self.ended.add(channel)
        return channel, payload
