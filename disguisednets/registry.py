"""One registry style for the project's parts (mechanisms, attacks, models): a name → part map whose
lookup fails with the list of names (or, for a plugin that was refused, with why), and whose names are the
CLI's and the configs' choices."""

from __future__ import annotations

from typing import Generic, Iterable, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Parts of one kind by name, in registration order."""

    def __init__(self, what: str, parts: Iterable[tuple[str, T]] = ()):
        self.what = what
        self._parts: dict[str, T] = {}
        self.refused: dict[str, str] = {}   # name → why a plugin of that name was not registered (one line)
        for name, part in parts:
            self.add(name, part)

    def add(self, name: str, part: T) -> T:
        if name in self._parts:
            raise ValueError(f"A {self.what} named {name!r} is registered already.")
        self._parts[name] = part
        return part

    def refuse(self, name: str, reason: str) -> None:
        """Record that a plugin part ``name`` was not registered, and why: looking it up raises ``reason``."""
        self.refused.setdefault(name, reason)

    def __getitem__(self, name: str) -> T:
        try:
            return self._parts[name]
        except KeyError:
            if name in self.refused:
                raise ValueError(self.refused[name]) from None
            raise ValueError(f"Unknown {self.what} {name!r}; choose one of {', '.join(self._parts)}.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._parts

    def __iter__(self):
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def names(self) -> tuple[str, ...]:
        return tuple(self._parts)

    def items(self):
        return self._parts.items()

    def values(self):
        return self._parts.values()
