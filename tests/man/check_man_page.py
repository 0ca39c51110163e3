#!/usr/bin/python3
"""Checks that a manual page documents exactly what a program's --help shows.

    check_man_page.py PAGE PROGRAM

For the program and for each subcommand its --help lists: every option in --help has an entry
in the page (a .TP paragraph whose tag names it), every option the page documents exists in
--help, every default that --help prints (`=VALUE`) appears in that option's entry, and every
subcommand has its own .SS section. The page's .TH names the version `PROGRAM --version` prints,
and groff formats it without a warning (as lintian checks it), where man(1) is installed.

The page's layout: .SH OPTIONS holds the program's own options; under .SH COMMANDS (or
PROGRAMS), one .SS "PROGRAM SUBCOMMAND ..." per subcommand holds that subcommand's options, and
.TP entries before the first .SS are options that every subcommand takes.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys

OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def plain(text):
    """A roff line as text: macros' arguments joined as groff sets them, escapes resolved."""
    text = text.rstrip("\n")
    if text.startswith("."):
        macro, _, rest = text[1:].partition(" ")
        try:
            words = shlex.split(rest.replace("\\", "\\\\"))
        except ValueError:
            words = rest.split()
        # .BR, .BI, .IR, ... alternate fonts between arguments and join them without spaces.
        text = ("" if len(macro) == 2 and macro[0] in "BIR" and macro[1] in "BIR" else " ").join(words)
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\e", "\\").replace("\\(aq", "'")


def parse_page(path):
    """Returns (version, {command: {option: entry text}}); command None is the program itself,
    '' holds the entries every subcommand takes."""
    version = None
    commands = {}
    command = None
    entry = None
    lines = open(path, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".TH "):
            fields = shlex.split(line[4:])
            version = fields[3].split()[-1] if len(fields) > 3 and fields[3] else None
        elif line.startswith(".SH "):
            entry = None
            title = plain(line)
            command = None if title == "OPTIONS" else ("" if title in ("COMMANDS", "PROGRAMS") else "-")
        elif line.startswith(".SS "):
            entry = None
            words = plain(line).split()
            command = words[1] if len(words) > 1 else "-"
        elif line.startswith(".TP"):
            i += 1
            tag = plain(lines[i])
            names = OPTION.findall(tag) if tag.startswith("-") else []
            entry = []
            for name in names:
                commands.setdefault(command, {})[name] = entry
            if not names:
                entry = None
        elif line.startswith((".PP", ".P ", ".LP")):
            entry = None
        elif entry is not None:
            entry.append(plain(line))
        i += 1
    return version, {c: {o: " ".join(e) for o, e in opts.items()} for c, opts in commands.items() if c != "-"}


def parse_help(text):
    """Returns ({option: default or None}, [subcommand]) from CLI11's --help output."""
    options, subcommands, section = {}, [], None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
        elif not line.strip():
            section = None
        elif section == "Options" and re.match(r"^ {2}-", line):
            spec = re.split(r"\s{2,}", line.strip())[0]
            default = re.search(r"=(\S+)$", spec)
            for name in spec.split()[0].split(","):
                options[name] = default.group(1) if default else None
        elif section == "Subcommands" and re.match(r"^ {2}\S", line):
            subcommands.append(line.split()[0])
    return options, subcommands


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def main():
    page, program = sys.argv[1], sys.argv[2]
    errors = []
    version, documented = parse_page(page)
    shown_version = run(program, "--version").split()[-1]
    if version != shown_version:
        errors.append(f".TH says version {version}, {program} --version says {shown_version}")

    options, subcommands = parse_help(run(program, "--help"))
    targets = [(None, options)]
    for sub in subcommands:
        targets.append((sub, parse_help(run(program, sub, "--help"))[0]))
    for sub, shown in targets:
        where = f"{program} {sub}" if sub else program
        in_page = dict(documented.get(sub, {}))
        if sub is not None:
            if sub not in documented:
                errors.append(f"no .SS section for the subcommand '{sub}'")
            in_page.update(documented.get("", {}))
        for name, default in shown.items():
            if name not in in_page:
                errors.append(f"{where} --help shows {name}, the page does not document it")
            elif default is not None and default not in in_page[name]:
                errors.append(f"{where} {name}: --help says the default is {default}, the page's entry does not")
        for name in in_page:
            if name not in shown:
                errors.append(f"the page documents {name} for {where}, which --help does not show")
    for sub in documented:
        if sub and sub not in subcommands:
            errors.append(f"the page has a section for '{sub}', which {program} --help does not list")

    if shutil.which("man"):
        groff = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", page],
                               capture_output=True, text=True, env=dict(os.environ, MANROFFSEQ="", MANWIDTH="80"))
        errors += [f"groff: {line}" for line in groff.stderr.splitlines()]
        if groff.returncode != 0:
            errors.append(f"man -l exited with {groff.returncode}")

    for error in errors:
        print(f"{page}: {error}", file=sys.stderr)
    checked = sum(len(shown) for _, shown in targets)
    print(f"{page}: {checked} options of {len(targets)} commands checked, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
