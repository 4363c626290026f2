"""CI adapters: the only modules that read CI variables or import actions_toolkit."""
