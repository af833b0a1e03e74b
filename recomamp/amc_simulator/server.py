"""The HTTP face of the simulator, on the standard library's ThreadingHTTPServer.

AMC (headers checked on every call, faults injected after the checks):
    POST   /amc/reporting/{instanceId}/workflowExecutions                  submit (ad hoc)
    GET    /amc/reporting/{instanceId}/workflowExecutions                  list
    GET    /amc/reporting/{instanceId}/workflowExecutions/{id}             status
    PUT    /amc/reporting/{instanceId}/workflowExecutions/{id}             {"status": "CANCELLED"}
    DELETE /amc/reporting/{instanceId}/workflowExecutions/{id}             cancel
    GET    /amc/reporting/{instanceId}/workflowExecutions/{id}/downloadUrls
Login with Amazon:      POST /auth/o2/token (form fields, as api.amazon.com takes them)
Pre-signed downloads:   GET /simulator-s3/{instanceId}/{id}/results.csv?X-Amz-...
Control (loopback only, no auth, not counted in the request stats):
    GET  /_simulator/health | /_simulator/stats | /_simulator/config | /_simulator/instances
    GET  /_simulator/schema[/{table}]   the tables' columns, with types, units, descriptions
    POST /_simulator/stats/reset | /_simulator/tokens/expire
    PUT  /_simulator/config {"aggregation_threshold", "access_token_ttl_seconds",
                             "download_url_ttl_seconds"}
    PUT  /_simulator/instances/{instanceId} {"advertiser_id", "marketplace_id", "seed",
         "concurrency_limit", "pending_seconds", "running_seconds", "aggregation_threshold"}
    GET  /_simulator/instances/{instanceId}[?dataset=1]
    PUT  /_simulator/instances/{instanceId}/faults {"rate_429", "rate_500", "slow_rate",
         "slow_seconds", "fail_query_rate", "download_url", "download_redirect"}

Every answer is JSON (S3 downloads excepted: CSV, or S3's XML error); nothing a client sends
produces a traceback: unexpected errors become a 500 with an AMC-shaped body.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

from . import schema
from .auth import LwaError
from .config import Faults, InstanceSettings, SimulatorConfig
from .engine import AmcError, Simulator

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
_SEGMENT = r"([^/]+)"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    name: str  # e.g. "GET /amc/reporting/{instanceId}/workflowExecutions/{workflowExecutionId}"
    handler: str
    kind: str  # "amc", "lwa", "s3" or "control"


def _route(method: str, template: str, handler: str, kind: str) -> Route:
    pattern = "^" + re.sub(r"\{[^}]+\}", _SEGMENT, template) + "/?$"
    return Route(method, re.compile(pattern), f"{method} {template}", handler, kind)


EXECUTIONS = "/amc/reporting/{instanceId}/workflowExecutions"
EXECUTION = EXECUTIONS + "/{workflowExecutionId}"
ROUTES = (
    _route("POST", "/auth/o2/token", "token", "lwa"),
    _route("POST", EXECUTIONS, "submit", "amc"),
    _route("GET", EXECUTIONS, "list_executions", "amc"),
    _route("GET", EXECUTION, "get_execution", "amc"),
    _route("PUT", EXECUTION, "update_execution", "amc"),
    _route("DELETE", EXECUTION, "delete_execution", "amc"),
    _route("GET", EXECUTION + "/downloadUrls", "download_urls", "amc"),
    _route("GET", "/simulator-s3/{instanceId}/{workflowExecutionId}/{file}", "s3_get", "s3"),
    _route("GET", "/_simulator/health", "health", "control"),
    _route("GET", "/_simulator/stats", "get_stats", "control"),
    _route("POST", "/_simulator/stats/reset", "reset_stats", "control"),
    _route("GET", "/_simulator/config", "get_config", "control"),
    _route("PUT", "/_simulator/config", "put_config", "control"),
    _route("GET", "/_simulator/instances", "list_instances", "control"),
    _route("PUT", "/_simulator/instances/{instanceId}", "put_instance", "control"),
    _route("GET", "/_simulator/instances/{instanceId}", "get_instance", "control"),
    _route("PUT", "/_simulator/instances/{instanceId}/faults", "put_faults", "control"),
    _route("POST", "/_simulator/tokens/expire", "expire_tokens", "control"),
    _route("GET", "/_simulator/schema", "get_schema", "control"),
    _route("GET", "/_simulator/schema/{table}", "get_table_schema", "control"),
)


class _BadJson(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait 40 ms
    server_version = "AmcSimulator/1.0"
    simulator: Simulator  # set on the subclass made per server

    # --- plumbing ----------------------------------------------------------------------------

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        self.query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = split.path
        route, params, allowed = None, (), []
        for candidate in ROUTES:
            match = candidate.pattern.match(path)
            if match:
                if candidate.method == method:
                    route, params = candidate, tuple(unquote(g) for g in match.groups())
                    break
                allowed.append(candidate.method)
        self.route_name = route.name if route else "UNKNOWN"
        self.record = not (route and route.kind == "control")
        try:
            self._body = self._read_body()
            if route is None:
                if allowed:
                    raise AmcError(
                        405,
                        "METHOD_NOT_ALLOWED",
                        f"{method} is not allowed here",
                        f"Allowed: {', '.join(sorted(set(allowed)))}",
                        {"Allow": ", ".join(sorted(set(allowed)))},
                    )
                raise AmcError(
                    404, "NOT_FOUND", "Resource not found", f"No route for {method} {path}"
                )
            if route.kind == "control" and not self._control_allowed():
                raise AmcError(403, "FORBIDDEN", "Control endpoints answer loopback clients only")
            if route.kind == "amc":
                state = self.simulator.authenticate(self.headers, params[0])
                delay, fault = self.simulator.roll_faults(state)
                if delay:
                    time.sleep(delay)
                if fault is not None:
                    raise fault
                getattr(self, route.handler)(state, *params[1:])
            else:
                getattr(self, route.handler)(*params)
        except AmcError as error:
            self._json(error.status, error.as_body(), error.headers)
        except _BadJson as error:
            self._json(
                400,
                {"code": "BAD_REQUEST", "message": "Malformed JSON body", "details": str(error)},
            )
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            logger.exception("AMC simulator: unexpected error on %s %s", method, path)
            self._json(
                500,
                {
                    "code": "INTERNAL_SERVER_ERROR",
                    "message": "Internal server error",
                    "details": "The simulator hit an unexpected error; see its log.",
                },
            )

    def _control_allowed(self) -> bool:
        if self.simulator.config.allow_remote_control:
            return True
        try:
            return ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            return False

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError as error:
            self.close_connection = True
            raise AmcError(400, "BAD_REQUEST", "Invalid Content-Length") from error
        if size > MAX_BODY_BYTES:
            self.close_connection = True
            raise AmcError(
                413,
                "PAYLOAD_TOO_LARGE",
                "Request body too large",
                f"At most {MAX_BODY_BYTES} bytes.",
            )
        return self.rfile.read(size) if size > 0 else b""

    def _json_body(self) -> object:
        if not self._body.strip():
            raise _BadJson("The request has no body; send a JSON object.")
        try:
            return json.loads(self._body)
        except (ValueError, UnicodeDecodeError) as error:
            raise _BadJson(f"The body is not valid JSON: {error}") from error

    def _object_body(self) -> dict:
        body = self._json_body()
        if not isinstance(body, dict):
            raise AmcError(400, "BAD_REQUEST", "Request body must be a JSON object")
        return body

    def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        if self.record:
            self.simulator.record_request(self.route_name, status)

    def _json(self, status: int, payload, headers=None) -> None:
        body = json.dumps(payload, default=str).encode()
        self._send(status, body, "application/json", headers)

    def _base_url(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}"

    # --- Login with Amazon -------------------------------------------------------------------

    def token(self) -> None:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if content_type == "application/json":
                raw = json.loads(self._body or b"{}")
                form = {k: str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
            else:
                form = dict(parse_qsl(self._body.decode("utf-8"), keep_blank_values=True))
            answer = self.simulator.tokens.issue(
                form, ttl_seconds=self.simulator.runtime.access_token_ttl_seconds
            )
        except LwaError as error:
            self._json(error.status, error.as_body())
            return
        except (ValueError, UnicodeDecodeError):
            self._json(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "The request body could not be read",
                },
            )
            return
        self._json(200, answer, {"Cache-Control": "no-store"})

    # --- AMC reporting -----------------------------------------------------------------------

    def submit(self, state) -> None:
        execution = self.simulator.submit(state, self._object_body())
        self._json(200, execution.as_api())

    def list_executions(self, state) -> None:
        self._json(200, self.simulator.list_executions(state.settings.instance_id, self.query))

    def get_execution(self, state, execution_id: str) -> None:
        self._json(200, self.simulator.get(state.settings.instance_id, execution_id).as_api())

    def update_execution(self, state, execution_id: str) -> None:
        body = self._object_body()
        # Cancel is the only update an ad-hoc execution takes (config.py point 2).
        if body.get("status") != "CANCELLED":
            self.simulator.get(state.settings.instance_id, execution_id)  # 404 first
            raise AmcError(
                400, "BAD_REQUEST", "Invalid request", "Only {'status': 'CANCELLED'} is supported."
            )
        execution = self.simulator.cancel(state.settings.instance_id, execution_id)
        self._json(200, execution.as_api())

    def delete_execution(self, state, execution_id: str) -> None:
        execution = self.simulator.cancel(state.settings.instance_id, execution_id)
        self._json(200, execution.as_api())

    def download_urls(self, state, execution_id: str) -> None:
        urls = self.simulator.download_urls(
            state.settings.instance_id, execution_id, self._base_url()
        )
        self._json(200, {"downloadUrls": urls})

    # --- the S3 stand-in -----------------------------------------------------------------------

    def _s3_error(self, status: int, code: str, message: str) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{id(self):x}</RequestId></Error>"
        ).encode()
        self._send(status, body, "application/xml")

    def s3_get(self, instance_id: str, execution_id: str, filename: str) -> None:
        path = urlsplit(self.path).path
        problem = self.simulator.signer.verify(path, self.query)
        if problem is not None:
            self._s3_error(403, "AccessDenied", problem)
            return
        state = self.simulator.instance(instance_id)
        if state is not None and state.faults.download_redirect:
            self._send(302, b"", "text/plain", {"Location": state.faults.download_redirect})
            return
        result = self.simulator.result_file(instance_id, execution_id)
        if result is None or not Path(result).exists():
            self._s3_error(404, "NoSuchKey", "The specified key does not exist.")
            return
        data = Path(result).read_bytes()
        self._send(
            200,
            data,
            "text/csv; charset=utf-8",
            {"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    # --- control -------------------------------------------------------------------------------

    def health(self) -> None:
        self._json(200, {"status": "ok"})

    def get_stats(self) -> None:
        self._json(200, self.simulator.stats())

    def reset_stats(self) -> None:
        self.simulator.reset_stats()
        self._json(200, self.simulator.stats())

    def get_config(self) -> None:
        self._json(200, self.simulator.runtime.as_dict())

    def put_config(self) -> None:
        try:
            runtime = self.simulator.update_runtime(self._object_body())
        except ValueError as error:
            raise AmcError(400, "BAD_REQUEST", "Invalid config", str(error)) from error
        self._json(200, runtime.as_dict())

    def list_instances(self) -> None:
        with self.simulator.lock:
            items = [s.settings.as_dict() for s in self.simulator.instances.values()]
        self._json(200, {"instances": items})

    def put_instance(self, instance_id: str) -> None:
        try:
            settings = InstanceSettings.from_dict(instance_id, self._object_body())
            added = self.simulator.add_instance(settings)
        except (ValueError, TypeError) as error:
            raise AmcError(400, "BAD_REQUEST", "Invalid instance", str(error)) from error
        self._json(200, added.as_dict())

    def get_schema(self) -> None:
        self._json(200, schema.as_api())

    def get_table_schema(self, table: str) -> None:
        for item in schema.as_api()["tables"]:
            if item["name"] == table:
                self._json(200, item)
                return
        raise AmcError(404, "NOT_FOUND", f"Table {table} not found", "See GET /_simulator/schema.")

    def get_instance(self, instance_id: str) -> None:
        state = self.simulator.instance(instance_id)
        if state is None:
            raise AmcError(404, "NOT_FOUND", f"Instance {instance_id} not found")
        body = state.settings.as_dict()
        body["faults"] = state.faults.as_dict()
        if self.query.get("dataset") in ("1", "true"):
            body["dataset"] = self.simulator.dataset_for(instance_id).info.as_dict()
        self._json(200, body)

    def put_faults(self, instance_id: str) -> None:
        try:
            faults = Faults.from_dict(self._object_body())
        except (ValueError, TypeError) as error:
            raise AmcError(400, "BAD_REQUEST", "Invalid faults", str(error)) from error
        try:
            self.simulator.set_faults(instance_id, faults)
        except KeyError as error:
            raise AmcError(404, "NOT_FOUND", f"Instance {instance_id} not found") from error
        self._json(200, faults.as_dict())

    def expire_tokens(self) -> None:
        self._json(200, {"expired": self.simulator.tokens.expire_all()})


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many workers polling at once must not be refused


class SimulatorServer:
    """The AMC simulator on a real socket: `start()` serves in a background thread,
    `serve_forever()` in the calling one. The Python methods mirror the control endpoints."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path,
        config: SimulatorConfig | None = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.simulator = Simulator(data_dir=Path(data_dir), config=self.config)
        handler = type("AmcSimulatorHandler", (_Handler,), {"simulator": self.simulator})
        self.httpd = _HttpServer((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self.httpd.server_address[0]

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client_secret

    def prepare(self) -> dict[str, dict]:
        """Generate (or open) the dataset of every registered instance; their info by id."""
        with self.simulator.lock:
            ids = list(self.simulator.instances)
        return {i: self.simulator.dataset_for(i).info.as_dict() for i in ids}

    def start(self) -> SimulatorServer:
        if self.config.pregenerate:
            self.prepare()
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="amc-simulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self.config.pregenerate:
            self.prepare()
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def stop(self) -> None:
        self.simulator.cancel_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- mirrors of the control endpoints ------------------------------------------------------

    def add_instance(self, instance_id: str, **settings) -> InstanceSettings:
        return self.simulator.add_instance(InstanceSettings(instance_id=instance_id, **settings))

    def set_faults(self, instance_id: str, **faults) -> Faults:
        return self.simulator.set_faults(instance_id, Faults(**faults))

    def clear_faults(self) -> None:
        self.simulator.clear_faults()

    def set_config(self, **runtime) -> dict:
        return self.simulator.update_runtime(runtime).as_dict()

    def restore_config(self) -> None:
        self.simulator.restore_runtime()

    def stats(self) -> dict:
        return self.simulator.stats()

    def reset_stats(self) -> None:
        self.simulator.reset_stats()

    def expire_tokens(self) -> int:
        return self.simulator.tokens.expire_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        return self.simulator.wait_idle(timeout)

    def dataset_info(self, instance_id: str) -> dict:
        return self.simulator.dataset_for(instance_id).info.as_dict()

    def issue_token(self, refresh_token: str = "Atzr|recomamp-test") -> str:
        """An access token without an HTTP round trip (for tests that are not about auth)."""
        return self.simulator.tokens.issue(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
            },
            ttl_seconds=self.simulator.runtime.access_token_ttl_seconds,
        )["access_token"]
