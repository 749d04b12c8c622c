"""Times POSTs of one body: prints the median and min seconds of N runs.
usage: timeit_http.py URL BODYFILE N [CONTENT_TYPE (default application/json)] [ACCEPT]"""
import statistics
import sys
import time
import urllib.request

url, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
headers = {"Content-Type": sys.argv[4] if len(sys.argv) > 4 and sys.argv[4]
           else "application/json"}
if len(sys.argv) > 5:
    headers["Accept"] = sys.argv[5]
body = open(path, "rb").read()
times = []
for _ in range(n):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers=headers)
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        r.read()
        assert r.status == 200, r.status
    times.append(time.perf_counter() - t0)
print("median_s=%.4f min_s=%.4f n=%d" % (statistics.median(times), min(times), n))
