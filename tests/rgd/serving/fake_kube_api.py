"""A fake Kubernetes API server on loopback, over real TLS: the batch/v1 CronJob GET and Job POST that
:mod:`rgd.serving.retrain` makes, with a CA of its own, a bearer token, RBAC-like authorization and 409 on a
name already taken. Every request is recorded (method, path, Authorization header, JSON body).

    with FakeKubeApi(cronjobs={"rgd-retrain": doc}) as api:
        jobs = RetrainJobs("rgd-retrain", registry, service_account_dir=api.service_account_dir,
                           environ=api.environ)

The service-account directory holds ``token``, ``ca.crt`` (the fake's CA) and ``namespace``, as Kubernetes
mounts them; ``environ`` has ``KUBERNETES_SERVICE_HOST``/``PORT``. ``authorize(verb, resource, name)`` decides
each request (403 with a Kubernetes Status when it says no); ``forbid_create=True`` refuses every Job.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

TOKEN = "fake-service-account-token"
PATH = re.compile(r"^/apis/batch/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>cronjobs|jobs)(?:/(?P<name>[^/?]+))?$")


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, server.crt, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-kubernetes-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")]))
              .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason,
            "code": code}


class FakeKubeApi:
    def __init__(self, cronjobs: dict[str, dict[str, Any]], namespace: str = "rgd",
                 authorize: Callable[[str, str, str | None], bool] | None = None, forbid_create: bool = False,
                 service_account: str = "rgd-gateway") -> None:
        self.namespace, self.service_account = namespace, service_account
        self.cronjobs = {name: {**doc, "metadata": {**doc["metadata"], "namespace": namespace,
                                                    "uid": str(uuid.uuid4())}} for name, doc in cronjobs.items()}
        self.authorize = authorize or (lambda verb, resource, name: True)
        self.forbid_create = forbid_create
        self.requests: list[dict[str, Any]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="rgd-fake-kube-")
        root = Path(self._tmp.name)
        self.service_account_dir = root / "serviceaccount"
        self.service_account_dir.mkdir()
        ca, cert, key = _certificates(root)
        (self.service_account_dir / "ca.crt").write_bytes(ca.read_bytes())
        (self.service_account_dir / "token").write_text(TOKEN + "\n")
        (self.service_account_dir / "namespace").write_text(namespace)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.port)}
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeKubeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._tmp.cleanup()

    def posted_jobs(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["method"] == "POST"]

    # ------------------------------------------------------------------ the API
    def _answer(self, method: str, path: str, auth: str | None, body: Any) -> tuple[int, dict[str, Any]]:
        user = f"system:serviceaccount:{self.namespace}:{self.service_account}"
        if auth != f"Bearer {TOKEN}":
            return 401, _status(401, "Unauthorized", "Unauthorized")
        match = PATH.match(path)
        if match is None:
            return 404, _status(404, "NotFound", f"the server could not find the requested resource ({path})")
        ns, resource, name = match["ns"], match["resource"], match["name"]
        verb = {"GET": "get" if name else "list", "POST": "create"}.get(method, method.lower())
        if ns != self.namespace or not self.authorize(verb, resource, name) or (
                verb == "create" and self.forbid_create):
            target = f'"{resource}"' + (f' "{name}"' if name else "")
            return 403, _status(403, "Forbidden", f'{resource}.batch {target} is forbidden: User "{user}" cannot '
                                                  f'{verb} resource "{resource}" in API group "batch" in the '
                                                  f'namespace "{ns}"')
        if resource == "cronjobs" and verb == "get":
            if name not in self.cronjobs:
                return 404, _status(404, "NotFound", f'cronjobs.batch "{name}" not found')
            return 200, self.cronjobs[name]
        if resource == "jobs" and verb == "create":
            job_name = body["metadata"]["name"]
            with self._lock:
                if job_name in self.jobs:
                    return 409, _status(409, "AlreadyExists", f'jobs.batch "{job_name}" already exists')
                created = {**body, "metadata": {**body["metadata"], "namespace": ns, "uid": str(uuid.uuid4())}}
                self.jobs[job_name] = created
            return 201, created
        return 405, _status(405, "MethodNotAllowed", f"{method} {path}")

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                record = {"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"),
                          "content_type": self.headers.get("Content-Type"), "body": body}
                with api._lock:
                    api.requests.append(record)
                status, doc = api._answer(self.command, self.path, record["auth"], body)
                out = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_DELETE = do_PATCH = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler
