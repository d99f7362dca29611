#!/usr/bin/env python3
"""Minimal fake Docker daemon on a unix socket: answers /_ping and saves the
body of POST /build (the build-context tar the CLI sends) so the recording
script can list exactly what the CLI put in the context, before the real
daemon's own Dockerfile/.dockerignore removal. Usage: fake-dockerd.py SOCK OUTDIR
Each build body is written to OUTDIR/<n>.tar."""
import http.server
import os
import socketserver
import sys

SOCK, OUTDIR = sys.argv[1], sys.argv[2]
COUNTER = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass

    def _reply(self, code, body=b"", ctype="application/json"):
        self.send_response(code)
        self.send_header("Api-Version", "1.41")
        self.send_header("Docker-Experimental", "false")
        self.send_header("Ostype", "linux")
        self.send_header("Builder-Version", "1")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def do_HEAD(self):
        self._reply(200, b"OK", "text/plain")

    def do_GET(self):
        if self.path.endswith("/_ping"):
            self._reply(200, b"OK", "text/plain")
        else:
            self._reply(404, b'{"message":"fake daemon: not implemented"}')

    def do_POST(self):
        body = self._read_body()
        if "/build" in self.path:
            COUNTER[0] += 1
            with open(os.path.join(OUTDIR, "%d.tar" % COUNTER[0]), "wb") as f:
                f.write(body)
            self._reply(200, b'{"stream":"captured\\n"}\n')
        else:
            self._reply(404, b'{"message":"fake daemon: not implemented"}')


class Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
Server(SOCK, Handler).serve_forever()
