use agentpipe::exit_status::{Status, USAGE};
use agentpipe::timeline::Start;

fn main() {
    let start = Start::now();
    let status = agentpipe::cli::run(start).unwrap_or_else(|error| {
        eprintln!("agentpipe: {error:#}");
        Status::Code(USAGE)
    });
    status.exit()
}
