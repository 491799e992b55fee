"""What the client check scripts share: one request per connection through
http.client, and a check that stops at the first failure, saying which."""

import http.client
import sys


class Client:
    def __init__(self, address):
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")
