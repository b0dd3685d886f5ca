"""The team's web page: gallery, live queue, usage charts and admin, on the same port as health and callbacks.

It may import the core (bot.*) but not the adapters or bot.cli; `bot/cli/run.py` wires it in when WEB_PORT is set.
"""
