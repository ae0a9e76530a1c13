//! What the timeline says about the messages of a protocol (`--protocol`).

use std::fmt;
use std::time::Duration;

use crate::duration::format_limit;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Said {
    /// The child's stdout carried bytes that are no frame, the first time: they went to stderr.
    Stray {
        protocol: &'static str,
        bytes: usize,
    },
    /// At the end: every byte of the child's stdout that was no frame.
    StrayTotal(u64),
    /// A request had no response for `--response-timeout`.
    ResponseTimeout { request: String, after: Duration },
    /// When the sequence starts: the request that has waited longest, and how long.
    Waiting { request: String, waited: Duration },
    /// At the end: the requests still without a response.
    Unanswered(Vec<String>),
    /// The shutdown step sent agentpipe's own `shutdown` request.
    ShutdownSent { id: String },
    /// The answer to agentpipe's `shutdown` came (not relayed): `exit` is sent.
    ExitSent,
    /// The shutdown step had nothing to do: the client sent `shutdown` or `exit` itself.
    ShutdownByClient,
    /// The shutdown step could not send its request: the client stopped within a frame, or the
    /// child's stdin is closed.
    ShutdownUnsendable,
    /// A send step wrote its message to the child, as a frame of this many bytes.
    MessageSent { bytes: usize },
    /// A send step could not write its message, for the same reasons as
    /// [`Said::ShutdownUnsendable`].
    MessageUnsendable,
}

impl Said {
    /// The trace's event name.
    pub fn kind(&self) -> &'static str {
        match self {
            Said::Stray { .. } => "stray_output",
            Said::StrayTotal(_) => "stray_total",
            Said::ResponseTimeout { .. } => "response_timeout",
            Said::Waiting { .. } => "waiting",
            Said::Unanswered(_) => "unanswered",
            Said::ShutdownSent { .. } => "shutdown_sent",
            Said::ExitSent => "exit_sent",
            Said::ShutdownByClient => "shutdown_by_client",
            Said::ShutdownUnsendable => "shutdown_unsendable",
            Said::MessageSent { .. } => "message_sent",
            Said::MessageUnsendable => "message_unsendable",
        }
    }
}

impl fmt::Display for Said {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Said::Stray { protocol, bytes } => write!(
                f,
                "the child wrote {bytes} bytes on its stdout that are no {protocol} frame (a log \
                 line?); they go to stderr, not to agentpipe's stdout, and are counted at the end"
            ),
            Said::StrayTotal(bytes) => write!(
                f,
                "{bytes} bytes of the child's stdout were no frame and went to stderr"
            ),
            Said::ResponseTimeout { request, after } => write!(
                f,
                "{request} had no response for {} (--response-timeout)",
                format_limit(Some(*after))
            ),
            Said::Waiting { request, waited } => write!(
                f,
                "{request} has waited {} for its response",
                format_limit(Some(*waited))
            ),
            Said::Unanswered(requests) => {
                write!(f, "unanswered at exit: {}", requests.join("; "))
            }
            Said::ShutdownSent { id } => write!(
                f,
                "sent the LSP shutdown request (id {id}); its response is not relayed"
            ),
            Said::ExitSent => {
                f.write_str("the server answered shutdown: sent the exit notification")
            }
            Said::ShutdownByClient => {
                f.write_str("the client sent shutdown or exit itself: nothing more to send")
            }
            Said::MessageSent { bytes } => {
                write!(f, "sent the step's message to the child ({bytes} bytes)")
            }
            Said::MessageUnsendable => f.write_str(
                "cannot send the step's message: the client stopped within a frame, or the \
                 child's stdin is closed",
            ),
            Said::ShutdownUnsendable => f.write_str(
                "cannot send the shutdown request: the client stopped within a frame, or the \
                 child's stdin is closed",
            ),
        }
    }
}
