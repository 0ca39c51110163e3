"""Runs a program that uses the standard multiprocessing, unchanged, with its shared objects on shmd.

    python3 -m shmd.run PROGRAM.py [ARGS...]
    python3 -m shmd.run -m MODULE [ARGS...]

`multiprocessing.Value`, `Array`, `RawValue` and `RawArray` (and the same functions of every
context, and of multiprocessing.sharedctypes) then make shmd objects, as
`import shmd.multiprocessing as multiprocessing` would, in the program and in every child it
starts, whatever the start method:

- fork: a child inherits the replaced functions with the rest of the process;
- spawn and forkserver: a child is a fresh interpreter that first unpickles the "preparation data"
  its parent sends (multiprocessing.spawn.get_preparation_data), before it imports the program's
  main module and unpickles the Process object. An entry in that data, unpickled first, installs
  the same replacement there, so the child's own Values are shmd's, and so are its children's.

The program runs as __main__ with its own sys.argv and sys.path[0], as `python3 PROGRAM.py` runs
it, and its exit status is the interpreter's.
"""

import os
import runpy
import site
import sys
from multiprocessing import sharedctypes as _std_sharedctypes
from multiprocessing import spawn as _spawn

from shmd.multiprocessing import sharedctypes as _shmd_sharedctypes

_REPLACED = ('RawValue', 'RawArray', 'Value', 'Array', 'copy', 'synchronized')

_USAGE = """usage: python3 -m shmd.run PROGRAM.py [ARGS...]
       python3 -m shmd.run -m MODULE [ARGS...]

Runs PROGRAM.py (or MODULE) as python3 would, with multiprocessing's Value, Array, RawValue and
RawArray served by shmd (the daemon on $SHMD_SOCKET, else /run/shmd/shmd.sock), in the program and
in every child process it starts."""


class _InstallInChild:
    """An entry of the spawn preparation data: unpickling it installs shmd in the child."""

    def __reduce__(self):
        return install, ()


def install():
    """Serves multiprocessing's shared objects from shmd in this process and the children it starts."""
    if _std_sharedctypes.Value is _shmd_sharedctypes.Value:
        return
    for name in _REPLACED:
        setattr(_std_sharedctypes, name, getattr(_shmd_sharedctypes, name))
    get_preparation_data = _spawn.get_preparation_data

    def get_preparation_data_with_shmd(name):
        data = get_preparation_data(name)
        data['shmd.run'] = _InstallInChild()
        return data

    _spawn.get_preparation_data = get_preparation_data_with_shmd


def _make_importable_by_children():
    # A spawned child unpickles the preparation data before it takes its parent's sys.path, so it
    # must find shmd from its own start: through a site directory, or else through PYTHONPATH.
    location = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    site_dirs = site.getsitepackages() + [site.getusersitepackages()]
    if location in site_dirs:
        return
    paths = [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    if location not in paths:
        os.environ['PYTHONPATH'] = os.pathsep.join([location] + paths)


def main(argv=None):
    """Runs the program named in `argv` (default sys.argv[1:]); returns only on a usage error."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ('-h', '--help'):
        print(_USAGE, file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] == '-m':
        if len(args) < 2:
            print("shmd.run: -m needs a module name\n\n" + _USAGE, file=sys.stderr)
            return 2
        install()
        _make_importable_by_children()
        sys.argv = [args[1]] + args[2:]
        runpy.run_module(args[1], run_name='__main__', alter_sys=True)
        return 0
    program = args[0]
    if not os.path.isfile(program):
        print("shmd.run: can't open file %r: no such file" % program, file=sys.stderr)
        return 2
    install()
    _make_importable_by_children()
    sys.argv = args
    sys.path[0] = os.path.dirname(os.path.abspath(program))
    runpy.run_path(program, run_name='__main__')
    return 0


if __name__ == '__main__':
    # Run as shmd.run, not as __main__: what a child unpickles must name shmd.run.install, and the
    # program's own module is the one that gets to be __main__.
    from shmd.run import main as _main
    sys.exit(_main())
