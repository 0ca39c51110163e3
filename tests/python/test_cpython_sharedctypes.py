"""CPython's own tests of Value and Array, with shmd.multiprocessing's four functions in the place of
multiprocessing's, under the fork and spawn start methods.

The tests are _TestValue and _TestArray of Lib/test/_test_multiprocessing.py, imported from the
installed test package (Debian: libpython3.11-testsuite), not copied. They are bound here exactly
as CPython binds them (install_tests_in_module_dict): the test class, then a mixin holding the
functions under test (ProcessesMixin, with shmd's Value, Array, RawValue and RawArray), then
unittest.TestCase; the start method is set for each class as CPython's setUpModule sets it.
"""

import multiprocessing
import unittest

import pytest
from test import _test_multiprocessing as cpython

import shmd.multiprocessing
from shmd.multiprocessing import sharedctypes

CPYTHON_CLASSES = (cpython._TestValue, cpython._TestArray)
START_METHODS = ('fork', 'spawn')


class ShmdProcessesMixin(cpython.ProcessesMixin):
    """CPython's mixin for process-based tests, with shmd's shared objects in it."""

    Value = staticmethod(shmd.multiprocessing.Value)
    Array = staticmethod(shmd.multiprocessing.Array)
    RawValue = staticmethod(shmd.multiprocessing.RawValue)
    RawArray = staticmethod(shmd.multiprocessing.RawArray)
    start_method = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._previous_start_method = multiprocessing.get_start_method(allow_none=True)
        multiprocessing.set_start_method(cls.start_method, force=True)

    @classmethod
    def tearDownClass(cls):
        multiprocessing.set_start_method(cls._previous_start_method, force=True)
        super().tearDownClass()


@pytest.fixture
def socket(daemon, monkeypatch):
    """The test's own daemon (conftest.py), which new objects find through $SHMD_SOCKET."""
    monkeypatch.setenv('SHMD_SOCKET', daemon.socket)
    return daemon.socket


def _install(globs):
    # Module-level classes with their own names: a spawned child unpickles the test's target (a
    # classmethod) by the qualified name of its class.
    names = []
    for method in START_METHODS:
        mixin = type('Shmd%sMixin' % method.capitalize(), (ShmdProcessesMixin,), {'start_method': method})
        for base in CPYTHON_CLASSES:
            name = 'TestShmd%s%s' % (method.capitalize(), base.__name__[len('_Test'):])
            cls = type(name, (base, mixin, unittest.TestCase), {'__module__': __name__, '__qualname__': name})
            globs[mixin.__name__] = mixin
            mixin.__module__ = __name__
            mixin.__qualname__ = mixin.__name__
            globs[name] = pytest.mark.usefixtures('socket')(cls)
            names.append(name)
    return names


INSTALLED = _install(globals())


def test_cpythons_tests_are_there_to_run():
    # Guards against the suite passing by running nothing: the test package is installed, and its
    # classes have the tests this module runs, which do not skip themselves.
    assert cpython.HAS_SHAREDCTYPES
    for base in CPYTHON_CLASSES:
        tests = [n for n in dir(base) if n.startswith('test_')]
        assert len(tests) >= 3, (base, tests)
    assert len(INSTALLED) == len(CPYTHON_CLASSES) * len(START_METHODS)


def test_the_bound_functions_are_shmds(socket):
    cls = globals()['TestShmdSpawnValue']
    v = cls.Value('i', 1)
    assert isinstance(v, sharedctypes.Synchronized)
    assert v.get_obj()._wrapper.name in {info.name for info in shmd.Client(socket).list()}
