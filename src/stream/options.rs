//! How to start a [`Stream`](super::Stream), beyond its command.

use std::fmt;
use std::io::Write;
use std::time::Duration;

#[cfg(doc)]
use super::Stream;
use crate::scope::Scope;
use crate::trace::Trace;
#[cfg(doc)]
use crate::{config::Config, outcome::Outcome};

/// How to start a [`Stream`](super::Stream), beyond its command: what becomes of the child's
/// stderr, a trace, idle timeouts, and which processes the close sequence ends.
///
/// By default the child's stderr is what the command says (inherited, unless
/// [`Command::stderr`](std::process::Command::stderr) set it). With a receiver or a tail, it is a pipe that a thread of the
/// stream copies, as `os/exec` copies to a writer in Go, but without ever waiting for a
/// descendant that holds it: after the child exits, what it wrote is always delivered, and
/// what comes later for at most [`Config::drain`](crate::Config::drain), after which the pipe is closed.
///
/// The same options serve Windows, where the stderr receiver, the tail, the trace and the scope
/// act as here, and the idle timeouts and the protocol are refused by
/// [`Stream::spawn_with`](super::Stream::spawn_with) ([`io::ErrorKind::Unsupported`](std::io::ErrorKind::Unsupported)): not available there yet.
///
/// ```
/// use std::process::Command;
/// use agentpipe::{Config, Exit, Stream, StreamOptions};
///
/// let log = std::fs::File::create(std::env::temp_dir().join("agent.stderr"))?;
/// let options = StreamOptions::new().stderr(log).stderr_tail(4096);
/// let mut command = Command::new("sh");
/// command.args(["-c", "echo 'no such model' >&2; exit 3"]);
/// let stream = Stream::spawn_with(&mut command, options)?;
/// let outcome = stream.close(&Config::default())?;
/// assert_eq!(outcome.exit, Exit::Code(3));
/// assert_eq!(outcome.stderr_tail, b"no such model\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Default)]
#[non_exhaustive]
pub struct StreamOptions {
    pub(super) stderr: Option<Box<dyn Write + Send>>,
    pub(super) stderr_tail: usize,
    pub(super) trace: Option<Trace>,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) output_idle_timeout: Option<Duration>,
    /// `None`: the child's process group.
    pub(super) scope: Option<Scope>,
    #[cfg(feature = "json")]
    pub(super) protocol: Option<crate::protocol::Protocol>,
    #[cfg(feature = "json")]
    pub(super) response_timeout: Option<Duration>,
}

impl StreamOptions {
    /// The default: the child's stderr as its command says.
    pub fn new() -> StreamOptions {
        StreamOptions::default()
    }

    /// Copies the child's stderr to `receiver`, byte for byte as it comes.
    ///
    /// The receiver is called from the stream's own thread only, and dropped there (after a
    /// flush) when the copy ends, at the latest during [`Stream::close`](super::Stream::close), which waits for its
    /// last write: a receiver that blocks holds `close` up. A write that fails drops it; the
    /// rest of stderr is then only counted (`discarded`) and kept in the tail.
    pub fn stderr(mut self, receiver: impl Write + Send + 'static) -> StreamOptions {
        self.stderr = Some(Box::new(receiver));
        self
    }

    /// Keeps the last `size` bytes of the child's stderr for [`Outcome::stderr_tail`](crate::Outcome::stderr_tail). Without a
    /// receiver, stderr is then read and dropped, and only its tail is kept.
    pub fn stderr_tail(mut self, size: usize) -> StreamOptions {
        self.stderr_tail = size;
        self
    }

    /// Records in `trace` every chunk written to the child's stdin and read from its stdout,
    /// with the time since the start, in order with what happens to it: its start and pid, and
    /// during [`Stream::close`](super::Stream::close) each step, the signals sent and its exit. The trace is written
    /// as `agentpipe --trace` writes it, and never holds a read or a write up: when its
    /// destination falls behind, the bytes are counted as skipped instead (see "Seeing what an
    /// agent said" in the README). Records are written in batches, when the next read, write or
    /// close finds one due: with no traffic, the last ones wait in memory until then.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::process::Command;
    /// use agentpipe::{Config, Stream, StreamOptions, Trace, TraceFormat};
    ///
    /// let (mut reader, writer) = std::io::pipe()?;
    /// let trace = Trace::to_fd(writer).format(TraceFormat::JsonLines);
    /// let mut stream = Stream::spawn_with(&mut Command::new("cat"), StreamOptions::new().trace(trace))?;
    /// stream.write_all(b"ping\n")?;
    /// stream.read_exact(&mut [0; 5])?;
    /// stream.close(&Config::default())?; // the trace's end: its writer is closed
    /// let mut trace = String::new();
    /// reader.read_to_string(&mut trace)?;
    /// assert!(trace.contains(r#""event":"data","dir":"to_child","len":5,"text":"ping\n""#));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn trace(mut self, trace: Trace) -> StreamOptions {
        self.trace = Some(trace);
        self
    }

    /// Closes the stream by itself when no byte was read from or written to the child for
    /// `limit`, as [`Closer::close`](super::Closer::close) with the default [`Config`] would, the
    /// outcome's trigger being [`Trigger::IdleTimeout`]: a pending read or write is unblocked,
    /// and a later `close` returns that outcome. A zero `limit` disables it.
    ///
    /// [`Config`]: crate::Config
    /// [`Trigger::IdleTimeout`]: crate::Trigger::IdleTimeout
    pub fn idle_timeout(mut self, limit: Duration) -> StreamOptions {
        self.idle_timeout = Some(limit).filter(|limit| !limit.is_zero());
        self
    }

    /// As [`StreamOptions::idle_timeout`], counting only what is read from the child: its
    /// output (trigger [`Trigger::OutputIdleTimeout`]).
    ///
    /// [`Trigger::OutputIdleTimeout`]: crate::Trigger::OutputIdleTimeout
    pub fn output_idle_timeout(mut self, limit: Duration) -> StreamOptions {
        self.output_idle_timeout = Some(limit).filter(|limit| !limit.is_zero());
        self
    }

    /// Which processes the close sequence's signals reach, and which may not outlive the
    /// stream: [`Scope::Group`] by default (the child is started in a process group of its own).
    ///
    /// - [`Scope::Child`]: the child alone; what it started is left running.
    /// - [`Scope::Tree`] (Linux): every descendant, including those that left the group
    ///   (setsid, a double fork). It makes the whole program a child subreaper
    ///   (`PR_SET_CHILD_SUBREAPER`), for good: orphans of any of its children are then
    ///   reparented to it rather than to init, and only those of a stream's tree are reaped by
    ///   the stream; a program that reaps its own children (`waitpid(-1)`) keeps doing so.
    /// - [`Scope::Cgroup`] (Linux, cgroup v2 with a delegated subtree): the processes of a cgroup
    ///   created for the child, whatever they do; [`Outcome::cgroup`](crate::Outcome::cgroup)
    ///   then holds what it accounted for.
    ///
    /// A scope the platform cannot give fails [`Stream::spawn_with`](super::Stream::spawn_with):
    /// `Tree` and `Cgroup` elsewhere than on Linux, `Cgroup` where no cgroup can be created.
    /// On Windows, `Group` (the default) and `Tree` are the child's Job Object, which ends every
    /// process in it when the stream is closed or the program ends, and `Child` is the child
    /// alone, in no job.
    ///
    /// ```
    /// use std::process::Command;
    /// use agentpipe::{Config, Scope, Stream, StreamOptions};
    ///
    /// let options = StreamOptions::new().scope(Scope::Child);
    /// let stream = Stream::spawn_with(&mut Command::new("cat"), options)?;
    /// let outcome = stream.close(&Config::default())?;
    /// assert!(outcome.leftovers.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn scope(mut self, scope: Scope) -> StreamOptions {
        self.scope = Some(scope);
        self
    }

    /// Reads what passes to and from the child as the JSON-RPC messages of `protocol` (MCP's
    /// newline-delimited frames, or LSP's `Content-Length` ones): the trace then records one
    /// event per message (its kind, id, method, a response's latency, the JSON itself) instead
    /// of chunks, and the outcome's [`unanswered`](crate::Outcome::unanswered) names the
    /// requests still without a response when the stream closed. The bytes read and written
    /// are the caller's, unchanged. Needs the `json` feature (serde_json parses the messages).
    ///
    /// ```
    /// use std::io::{BufRead, BufReader, Write};
    /// use std::process::Command;
    /// use agentpipe::{Config, Protocol, Stream, StreamOptions};
    ///
    /// let mut command = Command::new("sh");
    /// // Answers the first request only.
    /// command.args(["-c", r#"read -r line; echo '{"jsonrpc":"2.0","id":1,"result":{}}'; cat >/dev/null"#]);
    /// let mut stream = Stream::spawn_with(&mut command, StreamOptions::new().protocol(Protocol::Mcp))?;
    /// stream.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n")?;
    /// stream.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\"}\n")?;
    /// let mut answer = String::new();
    /// BufReader::new(&stream).read_line(&mut answer)?;
    /// let outcome = stream.close(&Config::default())?;
    /// assert_eq!(outcome.unanswered.len(), 1);
    /// assert_eq!((outcome.unanswered[0].id.as_str(), outcome.unanswered[0].method.as_str()), ("2", "tools/call"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(feature = "json")]
    pub fn protocol(mut self, protocol: crate::protocol::Protocol) -> StreamOptions {
        self.protocol = Some(protocol);
        self
    }

    /// With [`StreamOptions::protocol`]: closes the stream by itself when a request (either
    /// way) has had no response for `limit`, as `agentpipe --response-timeout` does and as
    /// [`StreamOptions::idle_timeout`] closes it, the outcome's trigger being
    /// [`Trigger::ResponseTimeout`] and its [`unanswered`](crate::Outcome::unanswered) naming
    /// the request. An MCP progress notification for the request (its `progressToken`) restarts
    /// its clock. A zero `limit` disables it; without a protocol,
    /// [`Stream::spawn_with`](super::Stream::spawn_with) fails with
    /// [`io::ErrorKind::InvalidInput`](std::io::ErrorKind::InvalidInput).
    ///
    /// [`Trigger::ResponseTimeout`]: crate::Trigger::ResponseTimeout
    #[cfg(feature = "json")]
    pub fn response_timeout(mut self, limit: Duration) -> StreamOptions {
        self.response_timeout = Some(limit).filter(|limit| !limit.is_zero());
        self
    }

    /// The response timeout, when it is set.
    pub(crate) fn response_limit(&self) -> Option<Duration> {
        #[cfg(feature = "json")]
        return self.response_timeout;
        #[cfg(not(feature = "json"))]
        None
    }

    /// Whether a timeout is set that only a watchdog of the stream's own can keep: an idle
    /// timeout, a response timeout.
    #[cfg(feature = "tokio")]
    pub(crate) fn has_idle_timeout(&self) -> bool {
        self.idle_timeout.is_some()
            || self.output_idle_timeout.is_some()
            || self.response_limit().is_some()
    }

    /// Whether the child's stderr must pass through the stream.
    pub(super) fn pipes_stderr(&self) -> bool {
        self.stderr.is_some() || self.stderr_tail > 0
    }
}

impl fmt::Debug for StreamOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("StreamOptions");
        f.field("stderr", &self.stderr.as_ref().map(|_| "receiver"))
            .field("stderr_tail", &self.stderr_tail)
            .field("trace", &self.trace)
            .field("idle_timeout", &self.idle_timeout)
            .field("output_idle_timeout", &self.output_idle_timeout)
            .field("scope", &self.scope);
        #[cfg(feature = "json")]
        f.field("protocol", &self.protocol)
            .field("response_timeout", &self.response_timeout);
        f.finish()
    }
}
