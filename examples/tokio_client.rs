//! A minimal MCP-style client on the tokio stream: start a stdio server, send it one request (a
//! line of JSON), read its answer, and close it with the sequence MCP asks of a client (close
//! its stdin, wait, SIGTERM, wait, SIGKILL), learning how it ended.
//!
//! ```sh
//! cargo run --example tokio_client --features tokio                  # a stand-in server
//! cargo run --example tokio_client --features tokio -- npx -y @modelcontextprotocol/server-everything
//! ```

use std::process::{Command, ExitCode};
use std::time::Duration;

use agentpipe::Config;
use agentpipe::tokio::Stream;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A server that answers the first request and then waits for its stdin to end.
const STAND_IN: &str = r#"read -r request
printf '%s\n' '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"stand-in","version":"0"}}}'
cat >/dev/null"#;

const INITIALIZE: &str = concat!(
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","#,
    r#""capabilities":{},"clientInfo":{"name":"tokio_client","version":"0"}}}"#,
    "\n"
);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tokio_client: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> std::io::Result<()> {
    // The server's command line, or the stand-in's.
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        argv = ["sh", "-c", STAND_IN].map(String::from).to_vec();
    }
    let stream = Stream::spawn(Command::new(&argv[0]).args(&argv[1..]))?;
    eprintln!("started the server, pid {}", stream.pid());
    let (read, mut write) = stream.into_split();
    write.write_all(INITIALIZE.as_bytes()).await?;
    let mut lines = BufReader::new(read);
    let mut answer = String::new();
    let read = tokio::time::timeout(Duration::from_secs(30), lines.read_line(&mut answer)).await;
    match read {
        Ok(Ok(0)) => eprintln!("the server closed its stdout without answering"),
        Ok(Ok(_)) => print!("{answer}"),
        Ok(Err(error)) => eprintln!("reading the answer failed: {error}"),
        Err(_) => eprintln!("no answer within 30 s"),
    }
    let stream = lines
        .into_inner()
        .reunite(write)
        .expect("the halves of one stream");
    let config = Config::new().sequence("stdin 2s, TERM 2s, KILL".parse().expect("a sequence"));
    let outcome = stream.close(&config).await?;
    eprintln!(
        "the server {} after {} step(s)",
        outcome.exit,
        outcome.steps.len()
    );
    Ok(())
}
