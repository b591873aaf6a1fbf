"""Prometheus exporter for vendors' public status pages."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("status-page-exporter")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
