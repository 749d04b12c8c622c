"""Creates sessions one after another on one keep-alive connection and
prints the median latency of the creations.
usage: sessions_client.py URL PREFIX N"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse

url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
times = []
for i in range(n):
    body = json.dumps({"op": "fit", "session": "%s%d" % (prefix, i),
                       "data": [[1.0, 2.0], [3.0, 5.0]]})
    t0 = time.perf_counter()
    conn.request("POST", "/normalize", body,
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    times.append(time.perf_counter() - t0)
    assert r.status == 200, (r.status, i)
print("p50_ms=%.3f p90_ms=%.3f n=%d" % (
    statistics.median(times) * 1e3,
    statistics.quantiles(times, n=10)[8] * 1e3, n))
