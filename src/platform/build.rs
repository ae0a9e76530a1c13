//! The build script: the one place that decides, from the target, which front end agentpipe is
//! built with, so that the modules above `src/platform/` choose theirs by what it is, never by
//! the operating system's name.
//!
//! - `agentpipe_poll`: every Unix. One readiness wait (poll, epoll) over the relay's
//!   descriptors, signals through a self-pipe: the event loop, the relay, the poller.
//! - `agentpipe_threads`: Windows. No readiness wait over pipes and no signals: a thread per
//!   direction of the relay and waiters on handles, feeding the driver through a channel.
//!
//! And `agentpipe_own_start` (Linux with the GNU C library, where the standard library reads the
//! program's arguments without its runtime's start): the program starts at its own C `main`
//! (see `src/main.rs`); and `agentpipe_static_unwinder` (the same targets, where the unwinder
//! can be linked in statically as libgcc_eh, see `src/main.rs`).

fn main() {
    println!(
        "cargo::rustc-check-cfg=cfg(agentpipe_poll, agentpipe_threads, agentpipe_own_start, agentpipe_static_unwinder)"
    );
    let front = match std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() {
        Ok(family) if family.split(',').any(|f| f == "unix") => "agentpipe_poll",
        _ => "agentpipe_threads",
    };
    println!("cargo::rustc-cfg={front}");
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") == "linux" && target("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo::rustc-cfg=agentpipe_own_start");
        println!("cargo::rustc-cfg=agentpipe_static_unwinder");
    }
}
