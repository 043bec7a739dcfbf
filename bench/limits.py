"""The request side of bench/limits.sh: (b) expensive bodies, (c) memory
snippets, against the running Caddy named by its pid and addresses.

    python3 limits.py bodies|memory PID BASE ADMIN BUILD
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

TICK = os.sysconf("SC_CLK_TCK")
MIB = 1 << 20
BODY = 1_048_000  # just under max_body_size (1 MiB)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def request(base, method, path, body=None, ctype=None, timeout=120):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    headers = {"Content-Type": ctype} if ctype else {}
    start = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, time.monotonic() - start, data
    except Exception as e:  # a timeout or a reset is a figure too
        return 0, time.monotonic() - start, str(e).encode()
    finally:
        conn.close()


class CPUSampler:
    """Samples the process's CPU ticks every 50 ms from start."""

    def __init__(self, pid):
        self.pid, self.samples, self.done = pid, [], False
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.done:
            self.samples.append((time.monotonic(), cpu_ticks(self.pid)))
            time.sleep(0.05)

    def __enter__(self):
        self.t.start()
        return self

    def idle_after(self, when, limit=15.0):
        """Seconds from `when` to the first 100 ms window with at most one
        tick of CPU (10 ms), waiting up to `limit`."""
        deadline = when + limit
        while time.monotonic() < deadline:
            s = [x for x in self.samples if x[0] >= when]
            for i in range(len(s) - 2):
                if s[i + 2][1] - s[i][1] <= max(1, TICK // 100):
                    return s[i][0] - when
            time.sleep(0.1)
        return None

    def __exit__(self, *exc):
        self.done = True
        self.t.join()


def kind(data):
    try:
        doc = json.loads(data)
    except ValueError:
        return data[:60].decode(errors="replace")
    if not isinstance(doc, dict):
        return json.dumps(doc)[:60]
    if "error" in doc:
        return doc["error"][:60]
    if "detail" in doc:
        d = doc["detail"]
        return f"{len(d)} violations, first {d[0]['type']}" if d else "no violations"
    return json.dumps(doc)[:60]


def refused(admin, name, ctype, schema):
    rec = {"name": name, "route": "/" + name, "auth_type": "public", "exec_as_user": "bench",
           "request_method": "POST", "request_content_type": ctype,
           "request_content_schema": schema, "code_snippet": "result = {}"}
    st, _, data = request(admin, "POST", "/endpoint/endpoints", json.dumps(rec), "application/json")
    try:
        doc = json.loads(data)
        msg = "; ".join(d.get("message", "") for d in doc.get("details") or []) or doc.get("error", "")
    except (ValueError, AttributeError, TypeError):
        msg = data[:100].decode(errors="replace")
    return st, str(msg)[:120]


def xsd_with(pattern):
    return ('<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="v">'
            '<xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="' + pattern +
            '"/></xs:restriction></xs:simpleType></xs:element></xs:schema>')


def bodies(pid, base, admin, build):
    value = "<v>" + "a" * 20 + "q</v>"
    cases = [
        ("xsd (a|aa)+b as a+b, 1 MiB of a", "/xsd-pattern", "application/xml",
         "<v>" + "a" * (BODY - 7) + "</v>"),
        ("xsd ([a-z-[q]]+)+ as [a-pr-z]+, 1 MiB of 21-char values", "/xsd-subtraction", "application/xml",
         "<vs>" + value * ((BODY - 9) // len(value)) + "</vs>"),
    ]
    if build == "cgo":
        n = (BODY - 2) // 9
        m = (BODY - 2) // 8
        cases += [
            ("json 1 MiB of 1e999999, minimum/multipleOf", "/numbers", "application/json",
             "[" + ",".join(["1e999999"] * n) + "]"),
            ("json 1 MiB of 1e-1000 (within the bounds)", "/numbers", "application/json",
             "[" + ",".join(["1e-1000"] * m) + "]"),
            ("json 1 MiB of 0.5 (valid)", "/numbers", "application/json",
             "[" + ",".join(["0.5"] * ((BODY - 2) // 4)) + "]"),
            ("json recursive allOf, [[[...]]] 40 deep", "/recursive", "application/json",
             "[" * 40 + "]" * 40),
        ]
    print(f"  build {build}:")
    for name, pattern in (("(a|aa)+b", "(a|aa)+b"), ("([a-z-[q]]+)+", "([a-z-[q]]+)+")):
        st, msg = refused(admin, "refused-" + str(abs(hash(pattern)) % 1000), "application/xml", xsd_with(pattern))
        print(f"    writing an XSD with {name}: {st} {msg}")
    for name, path, ctype, body in cases:
        time.sleep(1)
        with CPUSampler(pid) as cs:
            before = cpu_ticks(pid)
            st, secs, data = request(base, "POST", path, body.encode(), ctype)
            answered = time.monotonic()
            used = (cpu_ticks(pid) - before) / TICK
            idle = cs.idle_after(answered)
        idle_s = "not within 15 s" if idle is None else f"{idle:.2f} s"
        print(f"    {name}: {st} in {secs:.3f} s ({kind(data)}); CPU {used:.2f} s until the answer, idle {idle_s} after")


def settle(pid, base, most=10.0):
    """Waits until RSS is back within 16 MiB of base (the RSS before the
    first snippet), or stops falling after `most` seconds."""
    end = time.monotonic() + most
    cur = status_kb(pid, "VmRSS")
    while time.monotonic() < end and cur > base + 16 * 1024:
        time.sleep(0.25)
        cur = status_kb(pid, "VmRSS")
    return cur


def reset_peak(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory(pid, base, admin, build):
    cases = [
        ("list repetition [0] * (1 << 27)", "/mem/list", 1),
        ('string "x" * (1 << 29); x + x + x + x', "/mem/string", 1),
        ("doubling loop x = x + x", "/mem/doubling", 1),
        ("growing list (append 4 KiB)", "/mem/growing", 1),
        ("json.encode of 1000 x 1 MiB", "/mem/json", 1),
        ('doubling by "".join([s, s])', "/mem/join", 1),
        ("doubling by s.replace(\"b\", s)", "/mem/replace", 1),
        ("four concurrent runs of 512 MiB", "/mem/512", 4),
    ]
    request(base, "GET", "/trivial")
    base_rss = status_kb(pid, "VmRSS")
    for name, path, n in cases:
        idle = settle(pid, base_rss)
        hwm = reset_peak(pid)
        peak = [status_kb(pid, "VmRSS")]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], status_kb(pid, "VmRSS"))
                time.sleep(0.005)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        answers = [None] * n

        def one(i):
            answers[i] = request(base, "GET", path)

        runs = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for r in runs:
            r.start()
        for r in runs:
            r.join()
        stop.set()
        t.join()
        top = max(peak[0], status_kb(pid, "VmHWM") if hwm else 0)
        desc = ", ".join(f"{a[0]} {kind(a[2])}" for a in answers)
        print(f"    {name}: {desc} in {max(a[1] for a in answers):.2f} s; "
              f"peak RSS {max(0, top - idle) / 1024:.0f} MiB above idle ({idle / 1024:.0f} MiB)")
    ok = request(base, "GET", "/trivial")
    print(f"    the trivial endpoint after: {ok[0]}")


if __name__ == "__main__":
    what, pid, base, admin, build = sys.argv[1:6]
    {"bodies": bodies, "memory": memory}[what](int(pid), base, admin, build)
