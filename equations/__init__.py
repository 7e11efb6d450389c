"""The sleep network's models: what the neurons, synapses and pooling units *are*.

``neurons``, ``pooling`` and ``weight_factor`` are plain text, numbers and
numpy; ``synapses`` wraps the weight factor as a Brian2 function and so
imports Brian2: import the submodule you need (nothing is imported here, so
the torch reference never loads Brian2 through this package). How the models are wired and run lives in the
backends, ``bio_sleep.sleep.brian2_network`` and ``bio_sleep.sleep.reference``.
"""
