"""A local Odoo stand-in that speaks Odoo's external API over real HTTP.

No Odoo server can be installed where the tests run, so this one answers the
way Odoo 17 does (odoo/http.py, odoo/service/{common,model}.py,
odoo/addons/base/controllers/rpc.py):

- `/xmlrpc/common`, `/xmlrpc/object`: the legacy endpoints odoo-client-lib uses.
  Errors are XML-RPC faults with *string* codes: `AccessDenied` for bad
  credentials, `warning -- UserError\\n\\n<message>` for a user error, the
  exception's text with the traceback as the fault string otherwise.
- `/xmlrpc/2/common`, `/xmlrpc/2/object`: the same services with *int* codes
  (1 application error, 2 warning, 3 access denied, 4 access error).
- `/jsonrpc`: `{"jsonrpc": "2.0", "method": "call", "params": {"service", "method",
  "args"}}`; errors are `{"code": 200, "message": "Odoo Server Error", "data": {"name",
  "debug", "message", "arguments", "context"}}`.

Services: common `version`, `login`, `authenticate`; object `execute_kw` (and
`execute`) with `search`, `read`, `search_read`, `search_count`, `create` (one dict or a
list), `write`, `unlink`, `fields_get`. Credentials are checked on every object call.
Domains are Polish notation with `&`, `|`, `!` and the usual operators; many2one values
read as `[id, display_name]`, empty values as `False`; `active=False` rows are hidden
unless the domain names `active`. Nothing may be `None` on the way in: XML-RPC has no
null and Odoo's stock client refuses to send one, so a `<nil/>` here is a fault.

`helpdesk.ticket` exists only when `enterprise=True` (Helpdesk is an Enterprise app).

Test hooks: `fail_on(model, method, after=n)` makes the n+1-th next matching call
raise a server error; `delay` (seconds) makes every answer slow; `calls` counts
(model, method) pairs, so a test can assert that a run wrote nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import traceback
import xmlrpc.client
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WRITES = ("create", "write", "unlink")

# model -> field -> (type, relation). Enough of Odoo's schema for the sync.
_COMMON = {"id": ("integer", None), "display_name": ("char", None),
           "create_date": ("datetime", None), "write_date": ("datetime", None)}
SCHEMA: dict[str, dict[str, tuple[str, str | None]]] = {
    "ir.model": {"model": ("char", None), "name": ("char", None)},
    "res.users": {"login": ("char", None), "name": ("char", None),
                  "partner_id": ("many2one", "res.partner")},
    "res.partner": {"name": ("char", None), "is_company": ("boolean", None),
                    "vat": ("char", None), "phone": ("char", None), "email": ("char", None),
                    "street": ("char", None), "street2": ("char", None),
                    "city": ("char", None), "comment": ("html", None),
                    "active": ("boolean", None)},
    "helpdesk.stage": {"name": ("char", None), "sequence": ("integer", None)},
    "helpdesk.ticket": {"name": ("char", None), "description": ("html", None),
                        "partner_id": ("many2one", "res.partner"),
                        "stage_id": ("many2one", "helpdesk.stage"),
                        "active": ("boolean", None)},
    "crm.stage": {"name": ("char", None), "sequence": ("integer", None)},
    "crm.lead": {"name": ("char", None), "description": ("html", None),
                 "partner_id": ("many2one", "res.partner"), "type": ("selection", None),
                 "stage_id": ("many2one", "crm.stage"), "active": ("boolean", None)},
    "project.task.type": {"name": ("char", None), "sequence": ("integer", None)},
    "project.task": {"name": ("char", None), "description": ("html", None),
                     "partner_id": ("many2one", "res.partner"),
                     "stage_id": ("many2one", "project.task.type"),
                     "active": ("boolean", None)},
    "mail.message": {"body": ("html", None), "model": ("char", None),
                     "res_id": ("integer", None), "message_type": ("selection", None),
                     "author_id": ("many2one", "res.partner"), "date": ("datetime", None)},
}
DEFAULTS = {"res.partner": {"active": True, "is_company": False},
            "helpdesk.ticket": {"active": True}, "crm.lead": {"active": True, "type": "lead"},
            "project.task": {"active": True}, "mail.message": {"message_type": "comment"}}
STAGES = {"helpdesk.stage": ["New", "In Progress", "Solved", "Cancelled"],
          "crm.stage": ["New", "Qualified", "Won"],
          "project.task.type": ["To Do", "In Progress", "Done"]}
STAGE_OF = {"helpdesk.ticket": "helpdesk.stage", "crm.lead": "crm.stage",
            "project.task": "project.task.type"}
ENTERPRISE_ONLY = {"helpdesk.ticket", "helpdesk.stage"}


class OdooException(Exception):
    """The server-side exceptions, by the name Odoo gives them (odoo.exceptions.*)."""

    name = "odoo.exceptions.UserError"
    title = "UserError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(OdooException):
    pass


class AccessDenied(OdooException):
    name, title = "odoo.exceptions.AccessDenied", "AccessDenied"

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class AccessError(OdooException):
    name, title = "odoo.exceptions.AccessError", "AccessError"


class MissingError(OdooException):
    name, title = "odoo.exceptions.MissingError", "MissingError"


class ValidationError(OdooException):
    name, title = "odoo.exceptions.ValidationError", "ValidationError"


class ServerError(Exception):
    """Anything else (a bug, a lost database connection): Odoo sends the traceback."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class _Failure:
    model: str | None
    method: str | None
    after: int
    message: str


@dataclass
class FakeOdoo:
    """The database behind the HTTP server: users, records, and the test hooks."""

    db: str = "qifu_test"
    login: str = "admin"
    password: str = "admin-pw"
    api_key: str = "0123456789abcdef0123456789abcdef01234567"
    enterprise: bool = True
    version_info: tuple = (17, 0, 0, "final", 0, "")
    delay: float = 0.0
    records: dict[str, dict[int, dict]] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)
    failures: list[_Failure] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.next_id: Counter = Counter()
        self.removed: set[str] = set()
        for model in SCHEMA:
            self.records.setdefault(model, {})
        self.uid = self._insert("res.users", {"login": self.login, "name": "Administrator"})
        for stage_model, names in STAGES.items():
            for seq, name in enumerate(names, start=1):
                self._insert(stage_model, {"name": name, "sequence": seq})
        self._sync_ir_model()

    # --- test hooks ---------------------------------------------------------------------
    def set_enterprise(self, enterprise: bool) -> None:
        with self.lock:
            self.enterprise = enterprise
            self._sync_ir_model()

    def uninstall(self, model: str) -> None:
        """As if the app that brings `model` were not installed."""
        with self.lock:
            self.removed.add(model)
            self._sync_ir_model()

    def fail_on(self, model: str | None = None, method: str | None = None, *, after: int = 0,
                message: str = "could not serialize access due to concurrent update") -> None:
        """The call after `after` more matching calls raises a server error (once)."""
        self.failures.append(_Failure(model, method, after, message))

    def writes(self) -> int:
        return sum(n for (model, method), n in self.calls.items() if method in WRITES)

    def stage_id(self, model: str, name: str) -> int:
        stage_model = STAGE_OF[model]
        return next(i for i, r in self.records[stage_model].items() if r["name"] == name)

    def add(self, model: str, values: dict) -> int:
        """Insert as a person working in Odoo would (no call counted)."""
        with self.lock:
            return self._insert(model, values)

    def edit(self, model: str, rid: int, values: dict) -> None:
        with self.lock:
            self._update(model, rid, values)

    def post_message(self, model: str, rid: int, body: str) -> int:
        return self.add("mail.message", {"model": model, "res_id": rid, "body": body,
                                         "message_type": "comment", "date": _now()})

    # --- the model layer ----------------------------------------------------------------
    def _models(self) -> list[str]:
        return [m for m in SCHEMA if (self.enterprise or m not in ENTERPRISE_ONLY)
                and m not in self.removed]

    def _sync_ir_model(self) -> None:
        self.records["ir.model"] = {}
        for model in self._models():
            self._insert("ir.model", {"model": model, "name": model})

    def _insert(self, model: str, values: dict) -> int:
        self.next_id[model] += 1
        rid = self.next_id[model]
        row = {name: False for name in SCHEMA[model]}
        row.update(DEFAULTS.get(model, {}))
        if model in STAGE_OF and not values.get("stage_id"):
            stages = self.records[STAGE_OF[model]]
            row["stage_id"] = min(stages, key=lambda i: stages[i]["sequence"])
        row.update(values)
        row["id"] = rid
        row["create_date"] = row["write_date"] = _now()
        self.records[model][rid] = row
        return rid

    def _update(self, model: str, rid: int, values: dict) -> None:
        self.records[model][rid].update(values)
        self.records[model][rid]["write_date"] = _now()

    def _model(self, model: str) -> dict[int, dict]:
        if model not in self._models():
            raise UserError(f"Object {model} doesn't exist")
        return self.records[model]

    def _check_values(self, model: str, values: dict) -> dict:
        if not isinstance(values, dict):
            raise ValidationError(f"expected a dict of values, got {type(values).__name__}")
        clean = {}
        for name, value in values.items():
            if name not in SCHEMA[model]:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
            kind, relation = SCHEMA[model][name]
            if kind == "many2one" and value is not False and (
                    not isinstance(value, int) or value not in self.records[relation]):
                    raise MissingError(f"Record does not exist or has been deleted.\n"
                                       f"(Record: {relation}({value!r},), User: {self.uid})")
            clean[name] = value
        return clean

    def _display(self, model: str, row: dict) -> str:
        return row.get("name") or row.get("login") or f"{model},{row['id']}"

    def _value(self, model: str, row: dict, name: str):
        if name == "display_name":
            return self._display(model, row)
        kind, relation = SCHEMA[model].get(name) or _COMMON[name]
        value = row.get(name, False)
        if kind == "many2one":
            if not value:
                return False
            return [value, self._display(relation, self.records[relation][value])]
        if value is None or value == "":
            return False
        return value

    def _read(self, model: str, ids: list[int], fields: list[str] | None) -> list[dict]:
        table = self._model(model)
        names = fields or ["id", *SCHEMA[model], "display_name", "create_date", "write_date"]
        for name in names:
            if name not in SCHEMA[model] and name not in _COMMON:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
        missing = [i for i in ids if i not in table]
        if missing:
            raise MissingError("Record does not exist or has been deleted.\n"
                               f"(Record: {model}({missing[0]},), User: {self.uid})")
        out = []
        for rid in ids:
            row = table[rid]
            record = {"id": rid}
            for name in names:
                if name != "id":
                    record[name] = self._value(model, row, name)
            out.append(record)
        return out

    def _search(self, model: str, domain, offset=0, limit=None, order=None) -> list[int]:
        table = self._model(model)
        domain = list(domain or [])
        names = {leaf[0] for leaf in domain if isinstance(leaf, (list, tuple))}
        if "active" in SCHEMA[model] and "active" not in names:
            domain = ["&", ("active", "=", True), *domain] if domain else [("active", "=", True)]
        ids = [rid for rid, row in table.items() if _matches(self, model, row, domain)]
        if order:
            for part in reversed([p.strip() for p in str(order).split(",") if p.strip()]):
                name, _, direction = part.partition(" ")
                ids.sort(key=lambda i, n=name: _sort_key(table[i].get(n)),
                         reverse=direction.strip().lower() == "desc")
        ids = ids[int(offset or 0):]
        return ids[:limit] if limit else ids

    def call(self, model: str, method: str, args: list, kwargs: dict):
        """One execute_kw, under the lock (Odoo runs each call in its own transaction)."""
        with self.lock:
            self.calls[(model, method)] += 1
            for failure in list(self.failures):
                if failure.model in (None, model) and failure.method in (None, method):
                    if failure.after == 0:
                        self.failures.remove(failure)
                        raise ServerError(failure.message)
                    failure.after -= 1
            return self._dispatch(model, method, list(args), dict(kwargs or {}))

    def _dispatch(self, model: str, method: str, args: list, kw: dict):
        def arg(i, name, default=None):
            return args[i] if len(args) > i else kw.get(name, default)

        table = self._model(model)
        if method == "search":
            if arg(4, "count", False):
                return len(self._search(model, arg(0, "domain")))
            return self._search(model, arg(0, "domain"), arg(1, "offset", 0),
                                arg(2, "limit"), arg(3, "order"))
        if method == "search_count":
            return len(self._search(model, arg(0, "domain")))
        if method == "read":
            ids = arg(0, "ids")
            ids = [ids] if isinstance(ids, int) else list(ids)
            return self._read(model, ids, arg(1, "fields"))
        if method == "search_read":
            ids = self._search(model, arg(0, "domain"), arg(2, "offset", 0), arg(3, "limit"),
                               arg(4, "order"))
            return self._read(model, ids, arg(1, "fields"))
        if method == "create":
            values = arg(0, "vals_list")
            if isinstance(values, list):
                checked = [self._check_values(model, v) for v in values]
                return [self._insert(model, v) for v in checked]
            return self._insert(model, self._check_values(model, values))
        if method == "write":
            ids, values = arg(0, "ids"), self._check_values(model, arg(1, "vals"))
            ids = [ids] if isinstance(ids, int) else list(ids)
            if any(i not in table for i in ids):
                raise MissingError("Record does not exist or has been deleted.")
            for rid in ids:
                self._update(model, rid, values)
            return True
        if method == "unlink":
            ids = arg(0, "ids")
            for rid in [ids] if isinstance(ids, int) else ids:
                if rid not in table:
                    raise MissingError("Record does not exist or has been deleted.")
                del table[rid]
            return True
        if method == "fields_get":
            wanted = arg(0, "allfields") or list(SCHEMA[model]) + list(_COMMON)
            out = {}
            for name in wanted:
                kind, relation = SCHEMA[model].get(name) or _COMMON[name]
                out[name] = {"type": kind, "string": name.replace("_", " ").title(),
                             **({"relation": relation} if relation else {})}
            return out
        if method == "check_access_rights":
            return True
        raise AttributeError(f"The method '{method}' does not exist on the model '{model}'")

    # --- the services -------------------------------------------------------------------
    def authenticate(self, db: str, login: str, password: str) -> int | bool:
        if db != self.db:
            raise ServerError(f'database "{db}" does not exist')
        ok = login == self.login and password in (self.password, self.api_key)
        return self.uid if ok else False

    def service(self, service: str, method: str, args: list):
        if service == "common":
            if method == "version":
                return {"server_version": ".".join(map(str, self.version_info[:2])),
                        "server_version_info": list(self.version_info),
                        "server_serie": ".".join(map(str, self.version_info[:2])),
                        "protocol_version": 1}
            if method == "login":
                return self.authenticate(*args[:3])
            if method == "authenticate":
                return self.authenticate(*args[:3])
            if method == "about":
                return "See http://openerp.com"
            raise ServerError(f"'{method}' is not a method of service common")
        if service == "object":
            if method == "execute_kw":
                db, uid, password, model, name = args[:5]
                call_args = args[5] if len(args) > 5 else []
                call_kw = args[6] if len(args) > 6 else {}
            elif method == "execute":
                db, uid, password, model, name = args[:5]
                call_args, call_kw = list(args[5:]), {}
            else:
                raise ServerError(f"'{method}' is not a method of service object")
            if db != self.db:
                raise ServerError(f'database "{db}" does not exist')
            if uid != self.uid or password not in (self.password, self.api_key):
                raise AccessDenied()
            return self.call(model, name, call_args, call_kw)
        raise ServerError(f"No such service {service!r}")


_ORDERED = {"=", "!=", "<>", ">", ">=", "<", "<="}


def _sort_key(value):
    return (value is False or value is None, value if value not in (False, None) else 0)


def _like(pattern: str, text: str, *, anchored: bool, ci: bool) -> bool:
    if not anchored:
        pattern = f"%{pattern}%"
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.S | (re.I if ci else 0)) is not None


def _leaf(odoo: FakeOdoo, model: str, row: dict, leaf) -> bool:
    name, op, value = leaf
    if name not in SCHEMA[model] and name not in _COMMON:
        raise ValueError(f"Invalid field {model}.{name} in leaf {tuple(leaf)!r}")
    have = row.get(name, False)
    if have is None or have == "":
        have = False
    if op in ("=", "=="):
        return have == value
    if op in ("!=", "<>"):
        return have != value
    if op in ("in", "not in"):
        found = have in list(value) or (have is False and False in list(value))
        return found if op == "in" else not found
    if op in (">", ">=", "<", "<="):
        if have is False:
            return False
        return {">": have > value, ">=": have >= value, "<": have < value,
                "<=": have <= value}[op]
    if op in ("like", "ilike", "not like", "not ilike", "=like", "=ilike"):
        if value is False:
            found = have is False
        else:
            found = have is not False and _like(str(value), str(have),
                                               anchored=op.startswith("="),
                                               ci="ilike" in op)
        return not found if op.startswith("not") else found
    raise ValueError(f"Invalid operator {op!r} in leaf {tuple(leaf)!r}")


def _matches(odoo: FakeOdoo, model: str, row: dict, domain: list) -> bool:
    """Evaluate a Polish-notation domain; leaves side by side are joined by '&'."""
    def parse(pos: int) -> tuple[bool, int]:
        item = domain[pos]
        if item == "!":
            value, pos = parse(pos + 1)
            return not value, pos
        if item in ("&", "|"):
            left, pos = parse(pos + 1)
            right, pos = parse(pos)
            return (left and right) if item == "&" else (left or right), pos
        if isinstance(item, (list, tuple)) and len(item) == 3:
            return _leaf(odoo, model, row, item), pos + 1
        raise ValueError(f"Invalid domain term {item!r}")

    pos, result = 0, True
    while pos < len(domain):
        value, pos = parse(pos)
        result = result and value
    return result


# --- the wire ---------------------------------------------------------------------------------

def _traceback() -> str:
    return traceback.format_exc()


def _fault_string_codes(err: Exception) -> xmlrpc.client.Fault:
    """odoo/addons/base/controllers/rpc.py: xmlrpc_handle_exception_string."""
    if isinstance(err, AccessDenied):
        return xmlrpc.client.Fault("AccessDenied", str(err))
    if isinstance(err, OdooException):
        return xmlrpc.client.Fault(f"warning -- {err.title}\n\n{err.message}", "")
    return xmlrpc.client.Fault(str(err), _traceback())


def _fault_int_codes(err: Exception) -> xmlrpc.client.Fault:
    """odoo/addons/base/controllers/rpc.py: xmlrpc_handle_exception_int."""
    if isinstance(err, AccessError):
        return xmlrpc.client.Fault(4, str(err))
    if isinstance(err, AccessDenied):
        return xmlrpc.client.Fault(3, str(err))
    if isinstance(err, OdooException):
        return xmlrpc.client.Fault(2, str(err))
    return xmlrpc.client.Fault(1, _traceback())


def _json_error(err: Exception) -> dict:
    """odoo/http.py: serialize_exception, wrapped as Odoo's JSON-RPC error object."""
    name = err.name if isinstance(err, OdooException) else \
        f"builtins.{type(err).__name__}" if not isinstance(err, ServerError) \
        else "psycopg2.errors.SerializationFailure"
    message = err.message if isinstance(err, OdooException) else str(err)
    return {"code": 200, "message": "Odoo Server Error",
            "data": {"name": name, "debug": _traceback(), "message": message,
                     "arguments": [message], "context": {}}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Odoo's werkzeug server
    odoo: FakeOdoo

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.odoo.delay:
            time.sleep(self.odoo.delay)
        path = self.path.rstrip("/")
        if path == "/jsonrpc":
            self._send(self._jsonrpc(raw), "application/json")
            return
        match = re.fullmatch(r"/xmlrpc(/2)?/(common|object|db)", path)
        if not match:
            self._send(b"<h1>Not Found</h1>", "text/html", 404)
            return
        fault = _fault_int_codes if match.group(1) else _fault_string_codes
        try:
            if b"<nil/>" in raw:
                raise ServerError("cannot marshal None unless allow_none is enabled")
            params, method = xmlrpc.client.loads(raw)
            result = self.odoo.service(match.group(2), method, list(params))
            body = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=False)
        except Exception as err:  # noqa: BLE001 - every error becomes a fault, as in Odoo
            body = xmlrpc.client.dumps(fault(err), allow_none=False)
        self._send(body.encode(), "text/xml")

    def _jsonrpc(self, raw: bytes) -> bytes:
        request = json.loads(raw)
        reply = {"jsonrpc": "2.0", "id": request.get("id")}
        try:
            params = request.get("params") or {}
            reply["result"] = self.odoo.service(params.get("service"), params.get("method"),
                                                list(params.get("args") or []))
        except Exception as err:  # noqa: BLE001
            reply["error"] = _json_error(err)
        return json.dumps(reply).encode()


class OdooTestServer:
    """`with OdooTestServer() as server:` → a live server at `server.url` (free port)."""

    def __init__(self, odoo: FakeOdoo | None = None) -> None:
        self.odoo = odoo or FakeOdoo()
        handler = type("Handler", (_Handler,), {"odoo": self.odoo})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> OdooTestServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
