#!/usr/bin/env python3
"""Compares the JSON reports of several `scripts/bench --json` runs (the files named on the
command line, in run order): each ratio and absolute figure per run, their median, the largest
deviation from it, whether every run is within +-10 % of the median (issue 18's "figures that
repeat"), how many runs met the goal, and every A/A figure off by more than 5 %.

    python3 bench/compare_runs.py [--markdown] run1.json run2.json run3.json

With --before B... --after A... it compares two trees instead (runs of each, alternating, in one
sitting): for every figure both have, the median and range of each tree's runs, the change of
the medians, and a verdict that calls a change worse or better only where the two trees' runs
do not overlap at all (with five runs of each, identical trees do that by chance once in 126).

With --markdown the tables come out as Markdown, for docs/performance.md.
"""
import json
import statistics
import sys

from format_table import print_table  # the same directory: Python puts it first on the path


def spread(values):
    """The median of `values` and the largest relative deviation of one of them from it."""
    median = statistics.median(values)
    worst = max(abs(v / median - 1) for v in values) if median else 0.0
    return median, worst


def fmt(v):
    return f"{v:.3f}" if abs(v) >= 0.01 else f"{v:.2g}"


MARKDOWN = False


def table(rows):
    if MARKDOWN:
        print("| " + " | ".join(rows[0]) + " |")
        print("|" + "---|" * len(rows[0]))
        for r in rows[1:]:
            print("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
        print()
        return
    print_table(rows)


def main(paths):
    reports = [json.load(open(p)) for p in paths]
    runs = [f"run {i + 1}" for i in range(len(reports))]
    names = [n for n in reports[0]["figures"] if all(n in r["figures"] for r in reports)]
    rows = [("figure", *runs, "median", "worst", "within 10%", "goal", "met")]
    for n in names:
        figures = [r["figures"][n] for r in reports]
        median, worst = spread([f["ratio"] for f in figures])
        rows.append((n, *(fmt(f["ratio"]) for f in figures), fmt(median), f"{worst * 100:.1f}%",
                     "yes" if worst <= 0.10 else "NO", f"<= {figures[0]['goal']:g}",
                     f"{sum(bool(f['met']) for f in figures)} of {len(figures)}"))
    table(rows)

    names = [n for n in reports[0]["absolute"] if all(n in r["absolute"] for r in reports)]
    rows = [("absolute", *runs, "median", "worst", "within 10%", "goal", "met")]
    for n in names:
        figures = [r["absolute"][n] for r in reports]
        median, worst = spread([a["value"] for a in figures])
        goal = ""
        if "goal" in figures[0]:
            goal = (">= " if figures[0]["goal_is"] == "at_least" else "< ") + f"{figures[0]['goal']:g}"
        met = "" if "met" not in figures[0] else f"{sum(bool(a['met']) for a in figures)} of {len(figures)}"
        rows.append((n, *(f"{a['value']:.4g}" for a in figures), f"{median:.4g}", f"{worst * 100:.1f}%",
                     "yes" if worst <= 0.10 else "NO", goal, met))
    table(rows)

    off = []
    for i, r in enumerate(reports):
        for n, f in r["figures"].items():
            a = f.get("aa")
            if a and a.get("off_by_more_than_5pct"):
                off.append((runs[i], n, fmt(a["shmd"]["ratio"]), fmt(a["reference"]["ratio"])))
    if off:
        print("A/A figures off by more than 5 %:")
        table([("run", "figure", "shmd A/A", "reference A/A"), *off])
    else:
        print("every A/A figure within 5 % of 1.00")


def values_of(report, name):
    """A figure's ratio, or an absolute figure's value, in one report; None where it has neither."""
    if name in report["figures"]:
        return report["figures"][name]["ratio"]
    if name in report["absolute"]:
        return report["absolute"][name]["value"]
    return None


def before_after(before_paths, after_paths):
    before = [json.load(open(p)) for p in before_paths]
    after = [json.load(open(p)) for p in after_paths]
    names = []
    for r in before + after:
        for n in list(r["figures"]) + list(r["absolute"]):
            if n not in names and all(values_of(x, n) is not None for x in before + after):
                names.append(n)
    rows = [("figure", "before: median (range)", "after: median (range)", "change", "verdict")]
    for n in names:
        b = [values_of(r, n) for r in before]
        a = [values_of(r, n) for r in after]
        bm, am = statistics.median(b), statistics.median(a)
        change = f"{(am / bm - 1) * 100:+.1f}%" if bm else ""
        # Lower is better for every ratio and for the absolute figures with a "<" goal; higher for
        # the ">=" ones (connections_held).
        higher_is_better = any(r["absolute"].get(n, {}).get("goal_is") == "at_least" for r in after)
        if min(a) > max(b):
            verdict = "better" if higher_is_better else "WORSE"
        elif max(a) < min(b):
            verdict = "WORSE" if higher_is_better else "better"
        else:
            verdict = "within the runs' spread"
        rows.append((n, f"{fmt(bm)} ({fmt(min(b))}-{fmt(max(b))})", f"{fmt(am)} ({fmt(min(a))}-{fmt(max(a))})",
                     change, verdict))
    table(rows)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--markdown"]:
        MARKDOWN = True
        args = args[1:]
    if args[:1] == ["--before"] and "--after" in args:
        split = args.index("--after")
        if split > 1 and split < len(args) - 1:
            before_after(args[1:split], args[split + 1:])
            sys.exit(0)
    if not args or args[0].startswith("--"):
        sys.exit(__doc__)
    main(args)
