"""Named registries of pipeline parts (candidate sources, rankers) built from settings and
artifacts.

An entry is a *factory* ``factory(settings, artifacts, **options) -> part``: ``settings`` is the
request's :class:`~discovery.settings.Settings`, ``artifacts`` a read-only mapping of trained
models the engine was opened with (an ALS model, a learned ranker's weights...), ``options``
what a feed kind passes (the interests feed asks the ``hashtags`` source for more tags). A
source that needs a model reads it from ``artifacts`` in its factory, so the pipeline and the
feed kinds never change when one is added:

>>> from discovery.settings import Settings
>>> shapes = Registry("shape")
>>> @shapes.register("square")
... def _square(settings, artifacts, side=1):
...     return ("square", side * artifacts.get("scale", 1))
>>> shapes.build("square", Settings(), {"scale": 3}, side=2)
('square', 6)
>>> list(shapes)
['square']
>>> shapes.build("circle", Settings())
Traceback (most recent call last):
...
discovery.errors.InputError: unknown shape 'circle'; expected one of square
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from ..errors import InputError
from ..settings import Settings

__all__ = ["NO_ARTIFACTS", "Factory", "Registry"]

T = TypeVar("T")

#: ``factory(settings, artifacts, **options) -> part``
Factory = Callable[..., T]

#: The artifacts of an engine opened without any.
NO_ARTIFACTS: Mapping[str, Any] = MappingProxyType({})


class Registry(Mapping[str, Factory[T]], Generic[T]):
    """Factories by name, in registration order (a mapping ``name -> factory``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Factory[T]] = {}

    def register(
        self, name: str, factory: Factory[T] | None = None
    ) -> Callable[[Factory[T]], Factory[T]]:
        """Add ``factory`` under ``name`` (or use as a decorator); a name is registered once."""

        def add(f: Factory[T]) -> Factory[T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = f
            return f

        if factory is not None:
            add(factory)
        return add

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a plug-in unloaded, a test's temporary entry)."""
        del self._factories[name]

    def build(
        self,
        name: str,
        settings: Settings,
        artifacts: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> T:
        """The part registered as ``name`` for these settings and artifacts."""
        if name not in self._factories:
            known = ", ".join(self._factories)
            raise InputError(f"unknown {self.kind} {name!r}; expected one of {known}")
        given = NO_ARTIFACTS if artifacts is None else artifacts
        return self._factories[name](settings, given, **options)

    def __getitem__(self, name: str) -> Factory[T]:
        return self._factories[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)
