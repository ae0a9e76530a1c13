"""An MCP server written with the official Python SDK (tests/it/real_servers.rs): one tool."""
from mcp.server.mcpserver import MCPServer

app = MCPServer("adder")


@app.tool()
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


app.run()
