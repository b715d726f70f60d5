"""planwatch: indicator definitions, submission warehouse, indicator engine and exports."""

__version__ = "0.1.0"
