#!/usr/bin/env python3
# tidemark tests/integration/source_git_http.py — a real Git smart-HTTP server for the
# src_git_fetch integration tests (test_source_git.c); not a test by itself.
#
# Why: git's own `git http-backend` (the CGI program real servers run behind Apache or
# nginx) serves the repositories, so the client side talks to a genuine Git server; this
# script is only the HTTP front: it listens on 127.0.0.1 (or $GIT_HTTP_LISTEN, an address of
# this host that pods of the test node reach) on a free port, checks the
# Authorization header (Basic USER:PASSWORD, or Bearer TOKEN), answers 401 with
# WWW-Authenticate otherwise, and runs http-backend as CGI for the rest.
#
# Usage: source_git_http.py PROJECT_ROOT USER PASSWORD TOKEN [v0]
#   prints "port N" on stdout once listening, serves until killed (SIGTERM).
#   With "v0" the client's Git-Protocol header is not passed on, so http-backend speaks
#   protocol v0, which (like older servers) refuses to send a commit that no ref points at.
import base64
import http.server
import os
import subprocess
import sys


def main():
    root, user, password, token = sys.argv[1:5]
    v0 = len(sys.argv) > 5 and sys.argv[5] == "v0"
    basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    bearer = "Bearer " + token

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        def _authorised(self):
            got = self.headers.get("Authorization", "")
            return got in (basic, bearer)

        def _serve(self):
            if not self._authorised():
                body = b"authentication required\n"
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="tidemark-test"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    data += self.rfile.read(size)
                    self.rfile.readline()
            else:
                data = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": root,
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(data)),
                "REMOTE_USER": user,
                "REMOTE_ADDR": "127.0.0.1",
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": "HTTP/1.1",
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol") and not v0:
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            out = subprocess.run(["git", "http-backend"], input=data, env=env,
                                 capture_output=True, check=False).stdout
            head, _, body = out.partition(b"\r\n\r\n")
            if not _:
                head, _, body = out.partition(b"\n\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").splitlines():
                k, _, v = line.partition(":")
                if k.lower() == "status":
                    status = int(v.strip().split()[0])
                elif k:
                    headers.append((k.strip(), v.strip()))
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _serve
        do_POST = _serve

    listen = os.environ.get("GIT_HTTP_LISTEN") or "127.0.0.1"
    srv = http.server.ThreadingHTTPServer((listen, 0), Handler)
    print(f"port {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
