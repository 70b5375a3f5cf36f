"""Shared test configuration: the sandbox fixture users get is the one we use."""

pytest_plugins = ["dialogtech_async.testing.pytest_plugin"]
