//! The loop's own tests.

use super::token::Token;
use crate::duplex::End;
use crate::stderr::StderrEnd;

#[test]
fn each_slot_has_an_index_of_its_own_below_the_count() {
    let ends = [
        End::Input,
        End::ChildStdin,
        End::ChildStdout,
        End::Output,
        End::Helpers,
    ];
    let stderr = [
        StderrEnd::Source,
        StderrEnd::Destination,
        StderrEnd::Control,
    ];
    let mut slots = vec![
        Token::Signals,
        Token::ChildExit,
        Token::Parent,
        Token::OwnStderr,
        Token::Trace,
    ];
    slots.extend(ends.map(Token::from));
    slots.extend(stderr.map(Token::from));
    let mut indices: Vec<usize> = slots.into_iter().map(usize::from).collect();
    indices.sort();
    assert_eq!(indices, (0..Token::COUNT).collect::<Vec<_>>());
}
