"""Drives the Flask fixture app over ONE persistent connection with
http.client, as a browser would: several requests, then a chunked upload.

Usage: python3 check_keep_alive.py HOST:PORT.
"""

import http.client, json, sys
host, port = sys.argv[1].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port), timeout=10)
sockets = set()
for path in ["/", "/new", "/echo/caf%C3%A9"]:
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, (path, response.status)
    sockets.add(id(conn.sock))
conn.request("POST", "/api/items", body=json.dumps({"n": 1}), headers={"Content-Type": "application/json"})
response = conn.getresponse()
assert response.status == 201 and json.loads(response.read())["created"] == {"n": 1}
sockets.add(id(conn.sock))
assert len(sockets) == 1, "http.client had to reconnect"
# A chunked upload: http.client sends an iterable body of unknown length chunked.
conn.request("POST", "/form", body=iter([b"name=Ada", b"+Lovelace"]),
             headers={"Content-Type": "application/x-www-form-urlencoded"})
response = conn.getresponse()
assert response.read() == b"Hello, Ada Lovelace (1 fields)\n", "chunked form"
print("ok: every request on one connection")
