"""Many small jobs through the Bulk API: submits N jobs of ROWS rows each (local files,
round-robin over TABLES) from 8 client threads, then waits until all have ended.
Prints one line: jobs, seconds from the first submit to the last job's end, jobs/s.

usage: small_jobs.py API_URL DIR N ROWS TABLE[,TABLE...]
"""
import http.client, json, os, sys, threading, time, urllib.parse

def main(api, workdir, n, rows, tables):
    u = urllib.parse.urlparse(api)
    files = []
    for j in range(n):
        path = os.path.join(workdir, "small_%d.csv" % j)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("id,customer_id,sku,quantity,unit_price,ordered_at,status,gift,note\n")
                for i in range(rows):
                    k = j * rows + i + 1
                    f.write("%d,%d,SKU-%07d,%d,%d.%02d,2026-01-01T00:00:00+00:00,pago,false,\n"
                            % (k, k % 500, k, 1 + k % 9, k % 1000, k % 100))
        files.append(path)
    ids, lock = [], threading.Lock()
    ended_before, _ = ended(u)

    def submit(part):
        c = http.client.HTTPConnection(u.hostname, u.port)
        for j in part:
            body = json.dumps({"source": {"url": files[j]},
                               "target": {"table": tables[j % len(tables)]}})
            c.request("POST", "/v1/jobs", body, {"content-type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.status != 201:
                sys.exit("submit: %d %s" % (r.status, data))
            with lock:
                ids.append(json.loads(data)["id"])

    start = time.time()
    threads = [threading.Thread(target=submit, args=(range(k, n, 8),)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submitted = time.time() - start
    while True:
        done, failed = ended(u)
        if done - ended_before >= n:
            break
        time.sleep(0.02)
    took = time.time() - start
    print("%d %.3f %.1f %.3f %d" % (n, took, n / took, submitted, failed))

def ended(u):
    """Jobs that have ended (succeeded or failed) so far, and how many failed."""
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.request("GET", "/metrics")
    counts = {}
    for l in c.getresponse().read().decode().splitlines():
        for state in ("succeeded", "failed"):
            if l.startswith('ingest_jobs{state="%s"}' % state):
                counts[state] = int(l.split()[-1])
    return counts.get("succeeded", 0) + counts.get("failed", 0), counts.get("failed", 0)

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split(","))
