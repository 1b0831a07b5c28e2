"""The MCP server of the platform (``avatars mcp``; ``avatars serve --mcp`` at ``/mcp``).

- ``server``    the tools and resources (:func:`create_server`) over an ``Access``
- ``local``     runs of the local engine in a workspace folder
- ``platform``  runs on a platform through the SDK, with one user's API key
- ``analysis``  every judgement shown to a model: identifiers, advice, verdict (one place
                to swap better judges in)
- ``tables``    what a ``table`` argument names (example, uploaded dataset, file)
- ``mount``     the server on ``avatars serve``, behind API-key authentication
- ``cli``       ``avatars mcp``

Needs the ``mcp`` extra (FastMCP) and the engine. Nothing is imported here, so that
``avatars.mcp.analysis`` can be used without FastMCP.
"""
