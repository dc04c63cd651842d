"""The SOC console: a live, authenticated web application over the alert topic.

Build one with :meth:`streams.console.state.Console.build` and
:func:`streams.console.app.create_app`; ``frtwatch console`` does both.
"""
