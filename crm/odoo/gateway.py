"""The gateway: the few calls the sync makes to Odoo, behind a small interface.

`Gateway` is what the sync needs (search and read in pages, create in batches, write);
`OdooLibGateway` implements it over odoo-client-lib's connectors on XML-RPC or JSON-RPC.
A JSON-2 gateway (Odoo 19+ deprecates /xmlrpc and /jsonrpc, to be removed in Odoo 22)
is another class with the same methods; the sync does not change.

What odoo-client-lib leaves to its caller, and this module does:
- Timeouts. Its XML-RPC connector builds a `ServerProxy` with the stock transport, which
  waits forever; its JSON-RPC connector posts with httpx's 5 s default. Our connectors
  subclass theirs with one keep-alive connection and `timeout` seconds per call.
- No `None` on the wire: XML-RPC has no null (the stock client refuses to marshal it), so
  values are cleaned to Odoo's `False` before every call, on both protocols.
- Errors: `AuthenticationError`, `xmlrpc.client.Fault` (string codes on /xmlrpc, int codes
  on /xmlrpc/2), `JsonRPCException` and socket/HTTP errors become `crm.odoo.errors`.
- Paging: reads go by id (`id > last`, ordered by id, `page_size` at a time), so a record
  created or deleted meanwhile does not shift the pages.
- Batching: `create` sends lists of values (`create([{…}, …])`, Odoo ≥ 12).
- Retries with exponential backoff, for transient failures only (unreachable, timeout).
  A `create` is retried only when the request surely never arrived (connection
  refused): re-sending one that timed out could create the record twice.
- The password never reaches a log: odoo-client-lib's `Service` proxy logs every call's
  arguments (the password among them) at DEBUG, so calls go to the connector directly.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit
from xml.parsers.expat import ExpatError

import httpx
from odoolib.rpc import Connection, JsonRPCConnector, XmlRPCConnector
from odoolib.tools import AuthenticationError, JsonRPCException

from crm.odoo.errors import (
    OdooAuthError,
    OdooError,
    OdooFault,
    OdooModelMissing,
    OdooNotConfigured,
    OdooTimeout,
    OdooUnreachable,
)

PROTOCOLS = ("xmlrpc", "jsonrpc")


@dataclass(frozen=True)
class OdooConfig:
    url: str
    db: str
    user: str
    password: str = field(repr=False)  # never printed, never logged
    protocol: str = "xmlrpc"
    timeout: float = 30.0
    retries: int = 2
    backoff: float = 0.5
    page_size: int = 1000
    batch_size: int = 200

    def check(self) -> None:
        missing = [name for name in ("url", "db", "user", "password")
                   if not (getattr(self, name) or "").strip()]
        if missing:
            raise OdooNotConfigured("Odoo is not configured: " + ", ".join(missing) + " missing",
                                    key="odoo.error.not_configured", missing=", ".join(missing))
        if self.protocol not in PROTOCOLS:
            raise OdooNotConfigured(f"unknown Odoo protocol {self.protocol!r}",
                                    key="odoo.error.protocol", protocol=self.protocol)
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OdooNotConfigured(f"not an http(s) URL: {self.url!r}", key="odoo.error.url",
                                    url=self.url)


class Gateway(Protocol):
    """What the sync asks of Odoo. Domains are Odoo's; values never hold None."""

    def version(self) -> dict: ...

    def check_login(self) -> int: ...

    def has_model(self, model: str) -> bool: ...

    def search_read(self, model: str, domain: list, fields: list[str]) -> list[dict]: ...

    def read_ids(self, model: str, ids: list[int], fields: list[str]) -> list[dict]: ...

    def create(self, model: str, values: list[dict]) -> list[int]: ...

    def write(self, model: str, ids: list[int], values: dict) -> None: ...


def clean(value):
    """Odoo's `False` for every `None`, at any depth (XML-RPC cannot carry a null)."""
    if value is None:
        return False
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


# --- connectors: odoo-client-lib's, with a timeout and one kept-alive connection -------------

class _Timeout:
    """An XML-RPC transport whose connections time out (the standard one never does)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        return conn


class _TimeoutTransport(_Timeout, xmlrpc.client.Transport):
    pass


class _SafeTimeoutTransport(_Timeout, xmlrpc.client.SafeTransport):
    pass


class TimeoutXmlRPCConnector(XmlRPCConnector):
    """`/xmlrpc/<service>` (string fault codes), as odoo-client-lib's, with a timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.url = base_url.rstrip("/") + "/xmlrpc"
        self.timeout = timeout
        self._proxies: dict[str, xmlrpc.client.ServerProxy] = {}

    def send(self, service_name, method, *args):
        proxy = self._proxies.get(service_name)
        if proxy is None:
            url = f"{self.url}/{service_name}"
            transport = (_SafeTimeoutTransport if url.startswith("https:")
                         else _TimeoutTransport)(self.timeout)
            proxy = self._proxies[service_name] = xmlrpc.client.ServerProxy(
                url, transport=transport, allow_none=False)
        return getattr(proxy, method)(*args)

    def close(self) -> None:
        for proxy in self._proxies.values():
            proxy("close")()
        self._proxies.clear()


class TimeoutJsonRPCConnector(JsonRPCConnector):
    """`/jsonrpc`, as odoo-client-lib's `json_rpc`, over one httpx client with a timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.url = base_url.rstrip("/") + "/jsonrpc"
        self._client = httpx.Client(timeout=timeout)
        self._id = 0

    def send(self, service_name, method, *args):
        self._id += 1
        reply = self._client.post(self.url, json={
            "jsonrpc": "2.0", "method": "call", "id": self._id,
            "params": {"service": service_name, "method": method, "args": args}})
        if reply.status_code != 200:
            raise xmlrpc.client.ProtocolError(self.url, reply.status_code,
                                              reply.reason_phrase, {})
        result = reply.json()
        if result.get("error"):
            raise JsonRPCException(result["error"])
        return result.get("result", False)

    def close(self) -> None:
        self._client.close()


# --- errors -----------------------------------------------------------------------------------

def _fault_text(text: str) -> str:
    """The last line of a traceback, or the message after Odoo's 'warning -- Title' header."""
    if text.startswith("warning -- "):
        return text.split("\n\n", 1)[-1].strip()
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else text


def _missing_model(message: str) -> bool:
    return message.startswith("Object ") and message.endswith("doesn't exist")


def translate(err: Exception, *, url: str, what: str) -> OdooError:
    """The `crm.odoo.errors` member for whatever odoo-client-lib or the socket raised."""
    if isinstance(err, OdooError):
        return err
    if isinstance(err, AuthenticationError):
        return OdooAuthError(f"Odoo refused the login at {url}: {err}", key="odoo.error.auth",
                             url=url)
    if isinstance(err, xmlrpc.client.Fault):
        code = err.faultCode
        if code == "AccessDenied" or code == 3:
            return OdooAuthError(f"Odoo refused the login at {url} (access denied)",
                                 key="odoo.error.auth", url=url)
        # /xmlrpc puts the message in the code ("warning -- UserError\n\n…", or the
        # exception's text with the traceback as the string); /xmlrpc/2 in the string.
        text = _fault_text(code) if isinstance(code, str) else _fault_text(err.faultString)
        return _fault(text, what)
    if isinstance(err, JsonRPCException):
        error = err.error if isinstance(err.error, dict) else {"message": str(err.error)}
        data = error.get("data") or {}
        if str(data.get("name", "")).endswith("AccessDenied") or error.get("code") == 100:
            return OdooAuthError(f"Odoo refused the login at {url} (access denied)",
                                 key="odoo.error.auth", url=url)
        return _fault(str(data.get("message") or error.get("message") or error), what)
    if isinstance(err, (TimeoutError, socket.timeout, httpx.TimeoutException)):
        return OdooTimeout(f"Odoo at {url} did not answer {what} in time",
                           key="odoo.error.timeout", url=url)
    if isinstance(err, (ConnectionRefusedError, socket.gaierror, httpx.ConnectError)):
        failure = OdooUnreachable(f"cannot reach Odoo at {url}: {err}",
                                  key="odoo.error.unreachable", url=url, reason=str(err))
        failure.never_sent = True
        return failure
    if isinstance(err, (xmlrpc.client.ProtocolError, ExpatError, json.JSONDecodeError,
                        httpx.DecodingError)):
        code = getattr(err, "errcode", "")
        return OdooError(f"{url} does not answer as Odoo ({code or type(err).__name__})",
                         key="odoo.error.not_odoo", url=url, reason=str(code or err))
    if isinstance(err, (OSError, http.client.HTTPException, httpx.HTTPError)):
        return OdooUnreachable(f"lost the connection to Odoo at {url}: {err}",
                               key="odoo.error.unreachable", url=url, reason=str(err))
    raise err


def _fault(message: str, what: str) -> OdooFault:
    if _missing_model(message):
        model = message[len("Object "):-len("doesn't exist")].strip()
        return OdooModelMissing(f"Odoo has no model {model}", key="odoo.error.model_missing",
                                model=model)
    return OdooFault(f"Odoo refused {what}: {message}", key="odoo.error.fault", what=what,
                     detail=message)


# --- the gateway ------------------------------------------------------------------------------

class OdooLibGateway:
    """`Gateway` over odoo-client-lib (XML-RPC or JSON-RPC)."""

    def __init__(self, config: OdooConfig, *, sleep=time.sleep) -> None:
        config.check()
        self.config = config
        self._sleep = sleep
        base = config.url.rstrip("/")
        self._connector = (TimeoutXmlRPCConnector if config.protocol == "xmlrpc"
                           else TimeoutJsonRPCConnector)(base, config.timeout)
        # odoo-client-lib's Connection keeps the credentials and the uid once known.
        self._conn = Connection(self._connector, config.db, config.user, config.password)
        self.calls = 0

    def close(self) -> None:
        self._connector.close()

    def __enter__(self) -> OdooLibGateway:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(self, what: str, service: str, method: str, *args, create: bool = False):
        attempt = 0
        while True:
            try:
                self.calls += 1
                return self._connector.send(service, method, *clean(list(args)))
            except Exception as raw:  # noqa: BLE001 - translated or re-raised
                err = translate(raw, url=self.config.url, what=what)
                retry = err.transient and (not create or getattr(err, "never_sent", False))
                if not retry or attempt >= self.config.retries:
                    raise err from raw
                self._sleep(self.config.backoff * 2 ** attempt)
                attempt += 1

    def version(self) -> dict:
        return self._send("version", "common", "version")

    def check_login(self) -> int:
        """The uid; OdooAuthError on a wrong database, login, password or API key."""
        if not self._conn.user_id:
            c = self.config
            uid = self._send("login", "common", "login", c.db, c.user, c.password)
            if not uid:
                raise OdooAuthError(f"Odoo refused the login of {c.user!r} to database "
                                    f"{c.db!r} at {c.url}", key="odoo.error.auth", url=c.url)
            self._conn.user_id = uid
        return self._conn.user_id

    def execute(self, model: str, method: str, *args, create: bool = False, **kw):
        uid = self.check_login()
        c = self.config
        return self._send(f"{model}.{method}", "object", "execute_kw", c.db, uid, c.password,
                          model, method, list(args), kw, create=create)

    def has_model(self, model: str) -> bool:
        return bool(self.execute("ir.model", "search_count", [("model", "=", model)]))

    def pages(self, model: str, domain: list, fields: list[str]) -> Iterator[list[dict]]:
        """Pages of `search_read`, by id, `page_size` records at a time."""
        last = 0
        fields = list(dict.fromkeys(["id", *fields]))
        while True:
            rows = self.execute(model, "search_read", [*domain, ("id", ">", last)], fields,
                                limit=self.config.page_size, order="id")
            if not rows:
                return
            yield rows
            if len(rows) < self.config.page_size:
                return
            last = rows[-1]["id"]

    def search_read(self, model: str, domain: list, fields: list[str]) -> list[dict]:
        return [row for page in self.pages(model, domain, fields) for row in page]

    def read_ids(self, model: str, ids: list[int], fields: list[str]) -> list[dict]:
        """These records, archived ones included, `page_size` ids per call (no id list
        repeated in every page of a paged read)."""
        rows: list[dict] = []
        ids = sorted(set(ids))
        for start in range(0, len(ids), self.config.page_size):
            rows.extend(self.execute(model, "search_read",
                                     [("id", "in", ids[start:start + self.config.page_size]),
                                      ("active", "in", [True, False])],
                                     list(dict.fromkeys(["id", *fields]))))
        return rows

    def create(self, model: str, values: list[dict]) -> list[int]:
        ids: list[int] = []
        size = self.config.batch_size
        for start in range(0, len(values), size):
            got = self.execute(model, "create", values[start:start + size], create=True)
            ids.extend(got if isinstance(got, list) else [got])
        return ids

    def write(self, model: str, ids: list[int], values: dict) -> None:
        if ids:
            self.execute(model, "write", list(ids), values)
