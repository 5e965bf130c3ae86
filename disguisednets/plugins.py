"""Third-party schemes and attacks, registered through Python entry points (docs/plugins.md).

A package adds parts to this project's registries by declaring entry points in its ``pyproject.toml``:

* ``disguisednets.mechanisms`` — ``name = "module:Class"``, a :class:`~disguisednets.mechanisms.BlockMechanism`
  subclass whose ``name`` is the entry point's;
* ``disguisednets.attacks`` — ``name = "module:ATTACK"``, an :class:`~disguisednets.attacks.registry.Attack`
  whose ``name`` is the entry point's;
* ``disguisednets.configs`` — ``name = "module.conf"``, a package holding Hydra config groups
  (``mechanism/<name>.yaml``, ``attack/<name>.yaml``), put on Hydra's search path by this project's
  ``SearchPathPlugin`` (``hydra_plugins/disguisednets_plugins``).

Each part is checked before it is registered; a broken one (it does not import, is not what its group
needs, or — a mechanism — changes the images' shape or dtype, or its key does not round-trip) is refused:
one warning line names the plugin and what is wrong, and asking for it by name raises that line.
"""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Iterable

__all__ = ["ATTACK_GROUP", "CONFIG_GROUP", "MECHANISM_GROUP", "config_packages", "load_plugins"]

MECHANISM_GROUP = "disguisednets.mechanisms"
ATTACK_GROUP = "disguisednets.attacks"
CONFIG_GROUP = "disguisednets.configs"

_log = logging.getLogger(__name__)


def _origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else ep.value


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def load_plugins(registry, group: str, check: Callable[[str, Any], None],
                 found: Iterable[EntryPoint] | None = None) -> list[str]:
    """Register every entry point of ``group`` into ``registry`` that loads and passes ``check(name, part)``
    (which raises, in plain words, what is wrong); refuse the rest with their one line. Returns the names
    registered. ``found``: the entry points to read (default: the installed distributions')."""
    added = []
    for ep in (entry_points(group=group) if found is None else found):
        where = f"plugin {ep.name!r} ({_origin(ep)}, entry point {group})"
        if ep.name in registry:
            registry.refuse(ep.name, f"{where} refused: a {registry.what} named {ep.name!r} is registered already")
            continue
        try:
            part = ep.load()
        except Exception as exc:  # noqa: BLE001 — any import failure of a third-party module is its plugin's fault
            reason = f"it does not import ({type(exc).__name__}: {_one_line(exc)})"
        else:
            try:
                check(ep.name, part)
            except Exception as exc:  # noqa: BLE001 — the check's own words, whatever raised them
                reason = _one_line(exc)
            else:
                registry.add(ep.name, part)
                added.append(ep.name)
                continue
        line = f"{where} refused: {reason}"
        _log.warning(line)
        registry.refuse(ep.name, line)
    return added


def config_packages(found: Iterable[EntryPoint] | None = None) -> list[str]:
    """The Hydra search paths (``pkg://…``) of the installed plugins' config packages."""
    return [f"pkg://{ep.value}" for ep in (entry_points(group=CONFIG_GROUP) if found is None else found)]
