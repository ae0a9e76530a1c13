//! A minimal MCP-style client on the blocking stream: start a server that speaks JSON-RPC on
//! stdio (one message a line), send it `initialize`, read its answer, and close it the way the
//! protocol asks a client to: close its stdin, wait, then SIGTERM, then SIGKILL.
//!
//! ```sh
//! cargo run --example mcp_client                         # against a stand-in server
//! cargo run --example mcp_client -- my-mcp-server --stdio
//! ```
//!
//! It needs no feature: `agentpipe = { version = "0.1", default-features = false }` is enough.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Command, ExitCode};

use agentpipe::{Config, Stream};

/// Answers `initialize`, then waits for the end of its input, as a server does.
const STAND_IN: &str = r#"read -r request
printf '%s\n' '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"stand-in","version":"0"}}}'
cat >/dev/null"#;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"agentpipe-example","version":"0.1"}}}"#;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcp_client: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut command = match args.split_first() {
        Some((program, rest)) => {
            let mut command = Command::new(program);
            command.args(rest);
            command
        }
        None => {
            let mut command = Command::new("sh");
            command.args(["-c", STAND_IN]);
            command
        }
    };
    let mut stream = Stream::spawn(&mut command)?;
    writeln!(stream, "{INITIALIZE}")?;

    // A server may send notifications first; the answer is the message with our id. (A real
    // client parses each line as JSON; this example only looks for the id.)
    let mut lines = BufReader::new(&stream).lines();
    let answer = loop {
        match lines.next() {
            Some(line) => {
                let line = line?;
                if line.contains(r#""id":1"#) {
                    break line;
                }
            }
            None => return Err(io::Error::other("the server ended its output unanswered").into()),
        }
    };
    println!("answer: {answer}");

    // The protocol's shutdown: stdin closed, then SIGTERM, then SIGKILL, each after a wait.
    let config = Config::new().sequence("stdin 2s, TERM 2s, KILL".parse()?);
    let outcome = stream.close(&config)?;
    println!("server {} (pid {})", outcome.exit, outcome.pid);
    Ok(())
}
