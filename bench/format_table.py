#!/usr/bin/env python3
"""Turns shmd_bench's JSON report (stdin) into the table scripts/bench prints."""
import json
import sys


def cost(value, unit):
    """A cost in its unit, switching ns to us or ms when that reads better."""
    if unit.startswith("ns") and value >= 1e6:
        return f"{value / 1e6:.2f} ms{unit[2:]}"
    if unit.startswith("ns") and value >= 1e4:
        return f"{value / 1e3:.1f} us{unit[2:]}"
    return f"{value:.3g} {unit}"


def ratio(r):
    return f"{r:.3f}" if r >= 0.01 else f"{r:.2g}"


def quartile_range(f):
    """The first and third quartiles of the per-round ratios (each turn against the same turn)."""
    q = f.get("ratio_quartiles")
    return f"{ratio(q[0])}-{ratio(q[2])}" if q else ""


def aa(f):
    """The A/A figures, shmd's against itself and the reference's against itself; '!' past 5 %."""
    a = f.get("aa")
    if not a:
        return ""
    flag = " !" if a.get("off_by_more_than_5pct") else ""
    return f"{a['shmd']['ratio']:.2f} / {a['reference']['ratio']:.2f}{flag}"


def print_table(rows):
    """Prints `rows` (the first one the header) as aligned columns, then a blank line."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()


def main():
    report = json.load(sys.stdin)
    rows = [("figure", "shmd", "reference", "ratio", "goal", "met", "per round q1-q3", "A/A shmd / ref")]
    for name, f in report["figures"].items():
        rows.append((name, cost(f["shmd"], f["unit"]), cost(f["reference"], f["unit"]), ratio(f["ratio"]),
                     f"<= {f['goal']:g}", "yes" if f["met"] else "NO", quartile_range(f), aa(f)))
    print_table(rows)
    rows = [("absolute", "value", "goal", "met")]
    for name, a in report["absolute"].items():
        goal = ""
        if "goal" in a:
            goal = (">= " if a["goal_is"] == "at_least" else "< ") + f"{a['goal']:g} {a['unit']}"
        value = cost(a["value"], a["unit"]) if a["unit"].startswith("ns") else f"{a['value']:.4g} {a['unit']}"
        rows.append((name, value, goal, "" if "met" not in a else ("yes" if a["met"] else "NO")))
    print_table(rows)
    for name, a in report["absolute"].items():
        print(f"  {name}: {a['note']}")
    m = report["machine"]
    print(f"\nmachine: {m.get('nproc')} x {m.get('cpu')}, {m.get('kernel')}, {m.get('memory')} RAM; {m.get('mode')} run")


if __name__ == "__main__":
    main()
