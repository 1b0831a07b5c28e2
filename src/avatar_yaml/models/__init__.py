"""``avatar_yaml.models``: see :mod:`avatar_yaml`."""
