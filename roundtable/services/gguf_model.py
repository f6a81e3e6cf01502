"""A GGUF file on this server as an ``llm`` model, for machine drafting (the ``roundtable[llm]`` extra)."""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from pathlib import Path

try:
    import llm
except ImportError:  # the extra is not installed: drafting says so (services/drafting.resolve_model)
    llm = None

_loading = threading.Lock()


@contextlib.contextmanager
def _weights_not_repacked():
    """Load a model with llama.cpp's extra weight buffers off (``use_extra_bufts``).

    On a CPU with AMX, a llama-cpp-python built there puts the weights in the AMX buffer type, and in this
    project's CI virtual machine (Sapphire Rapids, firecracker) every decode then crashes the process in
    ``ggml_backend_amx_mul_mat`` (SIGSEGV). ``Llama()`` takes no option for it, so its default model
    parameters are replaced while it loads; the plain CPU path is slower on such a CPU, and correct.
    """
    import llama_cpp.llama_cpp as native  # lazy: loads native code

    defaults = native.llama_model_default_params

    def without_extra_buffers():
        params = defaults()
        params.use_extra_bufts = False
        return params

    with _loading:
        native.llama_model_default_params = without_extra_buffers
        try:
            yield
        finally:
            native.llama_model_default_params = defaults


if llm is not None:

    class LocalGguf(llm.Model):
        """A GGUF file run in this process by llama-cpp-python: plain completion, greedy, bounded.

        ``llm-gguf`` 0.2 registers GGUF files too, but always wraps the text in
        ChatML, takes no length limit and its non-streaming path stops in a
        debugger; a base model such as Gemma 3 270M needs a plain completion.
        """

        can_stream = True

        class Options(llm.Options):
            max_tokens: int | None = None
            temperature: float | None = None

        def __init__(self, path: Path, n_ctx: int = 4096):
            self.path = Path(path)
            self.model_id = f"gguf-file/{self.path.stem}"
            self.n_ctx = n_ctx
            self._llama = None

        def llama(self):
            if self._llama is None:
                from llama_cpp import Llama  # lazy: loads native code, only on the first draft

                # None: llama-cpp's default, half the cores, which also holds up best on a busy machine.
                threads = int(os.environ.get("ROUNDTABLE_LLM_THREADS", "0")) or None
                with _weights_not_repacked():
                    self._llama = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=threads,
                                        seed=0, verbose=False)
            return self._llama

        def execute(self, prompt, stream, response, conversation):
            text = f"{prompt.system}\n\n{prompt.prompt}" if prompt.system else prompt.prompt
            options = prompt.options
            temperature = 0.0 if options.temperature is None else options.temperature
            chunks = self.llama().create_completion(
                text, max_tokens=options.max_tokens or 256, temperature=temperature, top_k=1 if not temperature
                else 40, repeat_penalty=1.1, stream=True, stop=["\n\n", "\nNotes:", "<end_of_turn>"])
            for chunk in chunks:
                yield chunk["choices"][0]["text"]

    _models: dict[str, LocalGguf] = {}

    @atexit.register
    def _close_models() -> None:
        """Free the models before the interpreter tears llama-cpp down (else its finalizer fails noisily)."""
        for model in _models.values():
            if model._llama is not None:
                model._llama.close()

    def local_gguf(path: Path) -> LocalGguf:
        """One loaded model per file and process: loading takes seconds and memory."""
        key = str(Path(path).resolve())
        if key not in _models:
            _models[key] = LocalGguf(Path(key))
        return _models[key]
