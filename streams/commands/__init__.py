"""Sub-commands of the ``frtwatch`` CLI, one module each."""
