"""zpp: the member directory of Hilversum Media Valley's zpp'ers."""

__version__ = "0.1.0"
