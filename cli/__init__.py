"""The roof: the ``gridtwin`` command line, which composes every room (servers, API, loaders)."""
