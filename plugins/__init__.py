"""Roundtable's built-in plugins, loaded through the ``roundtable`` entry-point group like any third-party plugin."""
