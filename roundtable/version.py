"""The version of Roundtable, in a module of its own so that the plugin manager reads it without the package root."""

__version__ = "0.1.0"
