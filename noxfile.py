"""Sessions: `nox -s lint types tests` is what CI runs (see .ci/run); `nox -s bench`."""

from __future__ import annotations

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "types", "tests"]

#: Every Python the package supports; `nox -s tests_all` runs those installed here.
SUPPORTED_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite on the Python running nox (pytest exits non-zero if none ran)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(name="tests_all", python=SUPPORTED_PYTHONS)
def tests_all(session: nox.Session) -> None:
    """The test suite on every supported Python found on this machine."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[test]", "mypy")
    session.run("mypy", "--strict")


@nox.session
def bench(session: nox.Session) -> None:
    """Speed and peak memory against the bare parsers and the usual ways, the output
    writers, bulk, linear time and the dataset (under 3 minutes; `nox -s bench -- --quick`:
    under 30 s). Writes benchmarks/results/latest.json and peers.png."""
    session.install("-e", ".[test,cli,arrow,dataset]", "aiocsv", "pandas", "matplotlib")
    session.run("python", "benchmarks/run.py", *session.posargs)
