"""Pinned installs: `make install` installs requirements.lock, which pins every dependency exactly and
satisfies pyproject.toml's ranges."""

import re
import tomllib
from importlib.metadata import version

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;+]+)", line.strip())
            assert m, f"requirements.lock: {line!r} is not an exact pin"
            pins[canonicalize_name(m[1])] = m[2]
    return pins


def test_every_dependency_is_pinned_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _lock()
    for text in project["dependencies"] + project["optional-dependencies"]["dev"]:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} is outside {req}"
    assert pins["torch"] == "2.13.0"  # the project's pin, without a local build tag (+cpu), as on a GPU machine


def test_make_installs_the_locked_versions():
    assert "-r requirements.lock" in (ROOT / "Makefile").read_text()
    pins = _lock()
    installed = {name: version(name).split("+")[0] for name in pins}
    assert installed == pins, {n: (installed[n], pins[n]) for n in pins if installed[n] != pins[n]}
