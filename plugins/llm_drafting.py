"""Drafting a brief's prose with a language model the group controls (the ``roundtable[llm]`` extra).

Off until an admin names a model for a series on its drafting page. The model
layer is Simon Willison's ``llm`` library, so the group can choose a GGUF file
on this server, a model registered with ``llm-gguf``, a local Ollama server
(``llm-ollama``) or, if they decide so, a hosted API; the page says which.
The work itself is in ``roundtable.services.drafting`` (and a plain ``.gguf`` path
runs through ``roundtable.services.gguf_model``); this plugin adds the page.
"""

from __future__ import annotations

from roundtable import hookimpl
from roundtable.web.drafting import bp

try:
    import llm
except ImportError:  # the extra is not installed: the plugin says so and does nothing
    llm = None


@hookimpl
def plugin_status() -> str | None:
    if llm is None:
        return "off: install the extra with pip install 'roundtable[llm]'"
    return None


@hookimpl
def register_blueprints(register):
    register(bp)
