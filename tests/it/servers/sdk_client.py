"""The official MCP Python SDK's client (tests/it/real_servers.rs): starts argv[1:] as a stdio
server, initializes, lists the tools and calls one; prints what it got."""
import sys

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client


async def main():
    params = StdioServerParameters(command=sys.argv[1], args=sys.argv[2:])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            print("tools:", ",".join(tool.name for tool in tools.tools), flush=True)
            result = await session.call_tool("add", {"a": 2, "b": 3})
            print("result:", ",".join(part.text for part in result.content), flush=True)


anyio.run(main)
