//! The command line's clap definition, as the tests reach it: the man page's and the
//! completions' drift test renders it. This is the one place that names where the definition
//! lives; when it moves, this `use` is the line to change.

pub use agentpipe::cli::{Cli, completion, manual};
