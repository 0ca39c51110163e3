import csv, statistics as st, sys, random
rows = list(csv.reader(open(sys.argv[1])))
d = {}
for p, v, l, w, c, s in rows:
    d.setdefault((v, l), []).append((float(w), float(c)))
base = d[("c glibc plain", "compact")]
bw = st.median([x[0] for x in base]); bc = st.median([x[1] for x in base])
def boot_ratio(a, b, k, n=2000):
    # bootstrap 90% CI of median(a)/median(b)
    random.seed(1); r = []
    for _ in range(n):
        ra = [random.choice(a) for _ in a]; rb = [random.choice(b) for _ in b]
        r.append(st.median([x[k] for x in ra]) / st.median([x[k] for x in rb]))
    r.sort(); return r[int(.05*n)], r[int(.95*n)]
print(f"{'variant':28} {'layout':9} {'n':>4} {'wall':>6} {'vs c':>6} {'90% CI':>13} {'cpu':>6} {'vs c':>6}")
for (v, l), xs in d.items():
    w = st.median([x[0] for x in xs]); c = st.median([x[1] for x in xs])
    lo, hi = boot_ratio(xs, base, 0, 400)
    print(f"{v:28} {l:9} {len(xs):4d} {w:6.2f} {w/bw:6.3f} {lo:6.3f}..{hi:5.3f} {c:6.2f} {c/bc:6.3f}")
