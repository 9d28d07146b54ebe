"""The MCP server ("the tools server"; the ``tools`` role of the image and the deployments):
every tenant's webhook actions as MCP tools for LLM agents.

A thin adapter over the core, on the official ``mcp`` SDK's low-level server: streamable HTTP at
``/tenants/<tenant>/mcp`` with the tenant's tools token (``python -m admin tenant tools-token``).
"""

from ._app import ToolsServer, build, create_app

__all__ = ["ToolsServer", "build", "create_app"]
