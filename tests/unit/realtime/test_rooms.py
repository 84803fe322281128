"""Pieces of the realtime layer that need no live server."""
from synthese.realtime.rooms import NAMESPACE, namespace_for


def test_namespace_names_the_atelier():
    assert NAMESPACE.match(namespace_for(42))[1] == "42"
    for bad in ["/yjs|atelier-", "/yjs|atelier-1/x", "/yjs|other-1", "/", "/yjs|atelier-" + "9" * 13]:
        assert NAMESPACE.match(bad) is None
