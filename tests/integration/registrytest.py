"""A real registry for the tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1 with
its storage in a temp dir (plain, htpasswd basic auth, or bearer tokens from TokenServer), an
HTTP proxy in front of it that logs every request and can cut a blob's body half way, and OCI
layouts (images and multi-platform indexes) that skopeo copies into it."""
import base64
import gzip
import http.client
import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from imagetest import config, sha256


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """docker-registry serve, on a free port; stop() ends it (by its pid)."""

    def __init__(self, tmp: Path, auth: str = "", tls: bool = False):
        self.dir = Path(tmp)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.storage = self.dir / "storage"
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.auth = auth
        self.tls = self_signed(self.dir) if tls else ""
        self.proc = None
        self.start()

    def config_text(self):
        return (f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n  delete:\n    enabled: true\n"
                f"  cache:\n    blobdescriptor: inmemory\nhttp:\n  addr: {self.addr}\n{self.tls}{self.auth}")

    def start(self):
        cfg = self.dir / "config.yml"
        cfg.write_text(self.config_text())
        self.proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "registry.log", "ab"))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.proc.poll() is None, (self.dir / "registry.log").read_text()
                time.sleep(0.02)
        raise AssertionError("docker-registry did not start: " + (self.dir / "registry.log").read_text())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def blob_file(self, digest: str) -> Path:
        h = digest.split(":")[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / h[:2] / h / "data"

    def skopeo_copy(self, src: str, ref: str, *args, creds=None):
        cmd = ["skopeo", "copy", "-q", "--dest-tls-verify=false", *args]
        if creds:
            cmd += ["--dest-creds", creds]
        subprocess.run(cmd + [src, f"docker://{self.addr}/{ref}"], check=True, capture_output=True,
                       timeout=60)


class Proxy:
    """An HTTP/1.1 proxy to a registry: logs (method, path) of every request; a blob digest in
    `cut` gets half its body, then the connection closes; `delay` slows every blob body, `slow`
    (digest -> seconds) one blob's; `answer` (status, body) replaces every answer; `tamper`
    changes a byte of every manifest; `redirect` sends blob GETs elsewhere first; `uploads`
    lists (method, path, Content-Range, body length) of every PATCH and PUT; `max_put` answers
    413 to a PUT with a larger body, as a registry that takes no blob whole."""

    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.log = []
        self.cut = set()
        self.delay = 0.0
        self.slow = {}  # blob digest -> seconds its body takes
        self.answer = None  # (status, body): every request gets this instead
        self.tamper = False  # manifests: one byte of the body changed
        self.redirect = False  # blob GETs: 307 to /redirected/... (as to a blob store)
        self.uploads = []
        self.max_put = None
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                with proxy.lock:
                    proxy.log.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = self.path
                if self.command in ("PATCH", "PUT"):
                    with proxy.lock:
                        proxy.uploads.append((self.command, path, self.headers.get("Content-Range"), length))
                    if self.command == "PUT" and proxy.max_put is not None and length > proxy.max_put:
                        self.send_response(413)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                if proxy.redirect and self.command == "GET" and "/blobs/sha256:" in path:
                    if not path.startswith("/redirected/"):
                        self.send_response(307)
                        self.send_header("Location", f"http://127.0.0.1:{proxy.port}/redirected{path}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    path = path[len("/redirected"):]
                if proxy.answer:
                    status, data = proxy.answer
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                up = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=30)
                # The client's Host goes on: the registry builds its upload Locations from it,
                # so that the PATCHes and PUTs come through here too.
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                up.request(self.command, path, body=body, headers=headers)
                r = up.getresponse()
                data = r.read()
                if proxy.tamper and "/manifests/" in self.path and data:
                    data = data.replace(b'"schemaVersion": 2', b'"schemaVersion":2 ', 1)
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                digest = self.path.rsplit("/", 1)[-1]
                if "/blobs/" in self.path and digest in proxy.cut:
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                delay = proxy.slow.get(digest, proxy.delay) if "/blobs/" in self.path else 0
                if delay:
                    step = max(1, len(data) // 10)
                    for i in range(0, len(data), step):
                        self.wfile.write(data[i:i + step])
                        self.wfile.flush()
                        time.sleep(delay / 10)
                    return
                self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # a client that went away mid-request
        self.port = self.server.server_address[1]
        self.addr = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def blob_gets(self, digest):
        with self.lock:
            return sum(1 for m, p in self.log if m == "GET" and p.endswith("/blobs/" + digest))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def layout(path: Path, images, index=False, compress="gzip"):
    """An OCI layout. images: [(layers, platform, cfg)], layers uncompressed tar bytes.
    index=True: one index (tag "v1") over all images; else each image tagged "v1", "v2"...
    compress: "gzip" or "none". Returns the manifest digests (and the index's last)."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data):
        (blobs / sha256(data)[7:]).write_bytes(data)
        return sha256(data)
    descs, out = [], []
    for n, (layers, platform, cfg) in enumerate(images):
        ls = []
        for l in layers:
            b = gzip.compress(l, mtime=0) if compress == "gzip" else l
            mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress == "gzip" else "")
            ls.append({"mediaType": mt, "digest": put(b), "size": len(b)})
        c = json.loads(config([sha256(l) for l in layers], **cfg))
        os_, arch, *variant = platform.split("/")
        c["os"], c["architecture"] = os_, arch
        if variant:
            c["variant"] = variant[0]
        cb = json.dumps(c).encode()
        m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                   "digest": put(cb), "size": len(cb)}, "layers": ls}).encode()
        d = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(m), "size": len(m),
             "platform": {"os": os_, "architecture": arch, **({"variant": variant[0]} if variant else {})}}
        if not index:
            d["annotations"] = {"org.opencontainers.image.ref.name": f"v{n + 1}"}
        descs.append(d)
        out.append(d["digest"])
    if index:
        ib = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                         "manifests": descs}).encode()
        descs = [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": put(ib), "size": len(ib),
                  "annotations": {"org.opencontainers.image.ref.name": "v1"}}]
        out.append(descs[0]["digest"])
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": descs}))
    return out


def htpasswd_auth(dir: Path, user: str, password: str) -> str:
    """The registry config's auth section for htpasswd basic auth (bcrypt, as the registry wants)."""
    f = dir / "htpasswd"
    line = subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True,
                          text=True).stdout.strip()
    f.write_text(line + "\n")
    return f"auth:\n  htpasswd:\n    realm: hulltest\n    path: {f}\n"


def self_signed(dir: Path, name="127.0.0.1"):
    """A certificate and key for a TLS registry on 127.0.0.1 (no CA trusts it)."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))]), False)
            .sign(key, hashes.SHA256()))
    c, k = dir / "tls.crt", dir / "tls.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))
    return f"  tls:\n    certificate: {c}\n    key: {k}\n"


class TokenServer:
    """A bearer token server as the distribution spec describes it: GET /token?service=&scope=
    with basic credentials answers a JWT (RS256, the certificate in x5c) granting the scopes
    asked for; so does a POST of an OAuth2 form with `refresh` as its refresh_token. The
    registry trusts the certificate (rootcertbundle)."""

    def __init__(self, dir: Path, user: str, password: str):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        from cryptography.x509.oid import NameOID
        import datetime
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hulltest token signer")])
        now = datetime.datetime.utcnow()
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        self.cert_pem = dir / "token-cert.pem"
        self.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.der = cert.public_bytes(serialization.Encoding.DER)
        self.user, self.password = user, password
        self.refresh = "refresh-" + os.urandom(8).hex()  # the identity token it takes
        self.requests = []
        srv = self

        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                # OAuth2 (docker's identity tokens): a form with grant_type=refresh_token.
                length = int(self.headers.get("Content-Length") or 0)
                params = urllib.parse.parse_qs(self.rfile.read(length).decode())
                srv.requests.append((params, "POST"))
                if params.get("grant_type") != ["refresh_token"] or params.get("refresh_token") != [srv.refresh]:
                    return self.answer(401, {"details": "invalid refresh token"})
                self.grant(params, srv.user, "access_token")

            def do_GET(self):
                q = urllib.parse.urlparse(self.path)
                params = urllib.parse.parse_qs(q.query)
                auth = self.headers.get("Authorization", "")
                srv.requests.append((params, auth))
                sub = ""
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if (u, p) != (srv.user, srv.password):
                        return self.answer(401, {"details": "wrong credentials"})
                    sub = u
                self.grant(params, sub, "token")

            def grant(self, params, sub, key):
                access = []
                for s in params.get("scope", []):
                    for one in s.split(" "):
                        typ, _, rest = one.partition(":")
                        name, _, actions = rest.rpartition(":")
                        # Anonymous users may only pull from "public/".
                        acts = actions.split(",") if sub or name.startswith("public/") else []
                        access.append({"type": typ, "name": name, "actions": acts})
                t = int(time.time())
                header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(srv.der).decode()]}
                claims = {"iss": "hulltest-issuer", "sub": sub, "aud": params.get("service", [""])[0],
                          "exp": t + 300, "nbf": t - 10, "iat": t, "jti": os.urandom(8).hex(), "access": access}
                signing = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())).encode()
                sig = srv.key.sign(signing, padding.PKCS1v15(), hashes.SHA256())
                self.answer(200, {key: signing.decode() + "." + b64(sig), "expires_in": 300})

            def answer(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def auth_config(self) -> str:
        return (f"auth:\n  token:\n    realm: http://127.0.0.1:{self.port}/token\n    service: hulltest\n"
                f"    issuer: hulltest-issuer\n    rootcertbundle: {self.cert_pem}\n")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
