"""Two Streamlit servers on one database behind nginx with session affinity (issue 18.8).

    CRM_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/qifu \\
        .venv/bin/python scripts/two_servers.py [--port 8080] [--servers 2]

Starts the Streamlit servers on free local ports, renders deploy/nginx-qifu.conf for
them into a temporary nginx prefix (its own main config, pid, logs and temp
directories: not the system's nginx service) and runs nginx in the foreground as a
child, until Ctrl-C. The browser test (tests/test_two_servers.py) uses the same
helpers. Needs Debian's `nginx` package (`apt-get install nginx`; the service need not
run). The servers share one `server.cookieSecret`, so a browser moved to another
server (its own went down) keeps a valid XSRF cookie; its session state does not
move (it logs in again).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "nginx-qifu.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def max_upload_mb() -> int:
    """Streamlit's server.maxUploadSize as this project configures it (.streamlit/)."""
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        from streamlit import config

        config.get_config_options(force_reparse=True)
        return int(config.get_option("server.maxUploadSize"))
    finally:
        os.chdir(cwd)


def render_site(listen: str, upstreams: list[str], upload_mb: int) -> str:
    """deploy/nginx-qifu.conf with its placeholders filled in."""
    values = {"@LISTEN@": listen, "@MAX_UPLOAD_MB@": str(upload_mb),
              "@UPSTREAMS@": "\n    ".join(f"server {u};" for u in upstreams)}
    lines = []
    for line in TEMPLATE.read_text(encoding="utf-8").splitlines():
        if not line.lstrip().startswith("#"):  # the comments name the placeholders
            for key, value in values.items():
                line = line.replace(key, value)
        lines.append(line)
    return "\n".join(lines) + "\n"


def main_config(prefix: Path, site: Path) -> str:
    """A whole nginx.conf for a private instance under `prefix` that includes `site`."""
    temp = {name: prefix / name for name in ("client_body", "proxy", "fastcgi", "uwsgi",
                                              "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read our temp dirs
    return (f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\n"
            f"error_log {prefix / 'error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {prefix / 'access.log'};\n"
            + "".join(f"    {name}_temp_path {path};\n" for name, path in temp.items())
            + f"    include {site};\n}}\n")


@dataclass
class Pair:
    url: str                # nginx, the address people use
    servers: list[str]      # the Streamlit servers behind it, "127.0.0.1:PORT"
    prefix: Path            # nginx's private prefix (config, logs)


def _wait(url: str, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"{what} exited early:\n{out}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not answer on {url} within {START_TIMEOUT} s")


@contextmanager
def _child(args: list[str], env: dict, health: str, what: str,
           log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                text=True)
        try:
            try:
                _wait(health, proc, what)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}\n{log.read_text(encoding='utf-8')[-3000:]}") from None
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def run_pair(database_url: str, *, servers: int = 2, port: int | None = None,
             env: dict | None = None, workdir: Path | None = None) -> Iterator[Pair]:
    """Start `servers` Streamlit servers on `database_url` and nginx in front of them;
    yields the Pair and stops everything afterwards."""
    prefix = Path(workdir or tempfile.mkdtemp(prefix="qifu-nginx-"))
    prefix.mkdir(parents=True, exist_ok=True)
    base_env = {**os.environ, **(env or {}), "CRM_DATABASE_URL": database_url,
                "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32),
                "CRM_TRUST_PROXY": "1"}  # client addresses from nginx's X-Forwarded-For
    ports = [free_port() for _ in range(servers)]
    listen_port = port or free_port()
    with ExitStack() as stack:
        for i, p in enumerate(ports):
            stack.enter_context(_child(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                 "--server.port", str(p), "--server.address", "127.0.0.1",
                 "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                base_env, f"http://127.0.0.1:{p}/_stcore/health", f"streamlit server {i + 1}",
                prefix / f"streamlit-{i + 1}.log"))
        site = prefix / "qifu.conf"
        site.write_text(render_site(f"127.0.0.1:{listen_port}",
                                    [f"127.0.0.1:{p}" for p in ports], max_upload_mb()),
                        encoding="utf-8")
        conf = prefix / "nginx.conf"
        conf.write_text(main_config(prefix, site), encoding="utf-8")
        check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(conf)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{check.stderr}")
        url = f"http://127.0.0.1:{listen_port}"
        stack.enter_context(_child(
            [NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], base_env,
            f"{url}/_stcore/health", "nginx", prefix / "nginx.out"))
        yield Pair(url=url, servers=[f"127.0.0.1:{p}" for p in ports], prefix=prefix)


def upstream_of(url: str, route: str | None = None) -> tuple[str, str]:
    """(the server nginx sends this browser to, its route cookie): one request to
    /_stcore/health with the cookie `route` (none: a new browser)."""
    request = urllib.request.Request(f"{url}/_stcore/health")
    if route is not None:
        request.add_header("Cookie", f"qifu_route={route}")
    with urllib.request.urlopen(request, timeout=10) as response:
        value = route
        for cookie in response.headers.get_all("Set-Cookie") or []:
            if cookie.startswith("qifu_route="):
                value = cookie.split("=", 1)[1].split(";", 1)[0]
        return response.headers["X-Qifu-Upstream"], value


def route_to(url: str, server: str, tries: int = 200) -> str:
    """A route cookie value that nginx sends to `server` ("127.0.0.1:PORT")."""
    for i in range(tries):
        if upstream_of(url, f"probe{i}")[0] == server:
            return f"probe{i}"
    raise RuntimeError(f"no route to {server} in {tries} tries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="nginx's port (default 8080)")
    parser.add_argument("--servers", type=int, default=2)
    args = parser.parse_args()
    url = os.environ.get("CRM_DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set CRM_DATABASE_URL to a PostgreSQL database (several servers "
                         "on one SQLite file is not a supported deployment)")
    with run_pair(url, servers=args.servers, port=args.port) as pair:
        print(f"Qifu on {pair.url} (nginx, config under {pair.prefix}) → "
              + ", ".join(pair.servers), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
