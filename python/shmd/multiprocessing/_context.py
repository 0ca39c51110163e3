"""Context: a multiprocessing context whose shared objects are shmd's.

`shmd.multiprocessing.get_context('spawn')` wraps multiprocessing's own spawn context: its
Process, Pool, Queue, locks and everything else are that context's, and only Value, Array,
RawValue and RawArray (and get_context, so that contexts got from it are wrapped too) are shmd's.
"""

from . import sharedctypes


class Context:
    """One of multiprocessing's contexts, with shmd's Value, Array, RawValue and RawArray."""

    def __init__(self, base):
        self._base = base

    def __getattr__(self, name):
        return getattr(self._base, name)

    def get_context(self, method=None):
        """The context for `method` (None: this one's), wrapped the same way."""
        return wrap(self._base.get_context(method))

    def RawValue(self, typecode_or_type, *args, name=None):
        '''Returns a shared object'''
        return sharedctypes.RawValue(typecode_or_type, *args, name=name)

    def RawArray(self, typecode_or_type, size_or_initializer, *, name=None):
        '''Returns a shared array'''
        return sharedctypes.RawArray(typecode_or_type, size_or_initializer, name=name)

    def Value(self, typecode_or_type, *args, lock=True, name=None):
        '''Returns a synchronized shared object'''
        return sharedctypes.Value(typecode_or_type, *args, lock=lock, ctx=self._base.get_context(), name=name)

    def Array(self, typecode_or_type, size_or_initializer, *, lock=True, name=None):
        '''Returns a synchronized shared array'''
        return sharedctypes.Array(typecode_or_type, size_or_initializer, lock=lock, ctx=self._base.get_context(),
                                  name=name)

    def __repr__(self):
        return "<shmd.multiprocessing context over %r>" % (self._base,)


_wrapped = {}


def wrap(base):
    """The one Context over multiprocessing context `base`."""
    found = _wrapped.get(id(base))
    if found is None or found._base is not base:
        found = _wrapped[id(base)] = Context(base)
    return found
