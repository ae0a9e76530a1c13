//! A pump that watches the frames of a protocol (`--protocol`): what it reads goes through its
//! [`Watch`] first, which puts in the buffer the bytes to relay and sets the others aside.

use super::{BUFFER_SIZE, Pump};
use crate::protocol::{RESERVE, Watch};

/// A watch and the buffer its bytes are read into before it hands on those to relay.
#[derive(Debug)]
pub(super) struct Watched {
    watch: Watch,
    scratch: Box<[u8]>,
}

impl Pump {
    /// Watches the frames of a protocol as they pass: every byte goes through the buffer (no
    /// splice), and the frames replace the trace's chunks.
    pub fn set_watch(&mut self, watch: Watch) {
        self.splice = false;
        self.tap = None;
        self.watched = Some(Box::new(Watched {
            watch,
            scratch: vec![0; BUFFER_SIZE - RESERVE].into_boxed_slice(),
        }));
    }

    pub fn watch(&mut self) -> Option<&mut Watch> {
        self.watched.as_mut().map(|watched| &mut watched.watch)
    }

    /// Queues `bytes` of agentpipe's own after what is buffered; says whether they fit.
    pub fn inject(&mut self, bytes: &[u8]) -> bool {
        self.compact();
        let fits = self.destination.is_some() && self.buffer.len() - self.end >= bytes.len();
        if fits {
            self.buffer[self.end..self.end + bytes.len()].copy_from_slice(bytes);
            self.end += bytes.len();
        }
        fits
    }

    /// Reads at most `room` bytes into the watch, which puts in the buffer those to relay; at
    /// the source's end, what it held back.
    pub(super) fn read_watched(&mut self, room: usize) -> std::io::Result<usize> {
        let (Some(source), Some(watched)) = (&self.source, &mut self.watched) else {
            return Ok(0);
        };
        let count = source.read(&mut watched.scratch[..room])?;
        self.watched_bytes(count);
        Ok(count)
    }

    /// Hands the `count` bytes just read to the watch, which puts in the buffer those to relay;
    /// 0 is the source's end, where it releases what it held.
    fn watched_bytes(&mut self, count: usize) {
        let Some(watched) = &mut self.watched else {
            return;
        };
        let (buffer, end) = (&mut self.buffer, &mut self.end);
        let out = |bytes: &[u8]| {
            buffer[*end..*end + bytes.len()].copy_from_slice(bytes);
            *end += bytes.len();
        };
        match count {
            0 => watched.watch.finish(out),
            _ => watched.watch.feed(&watched.scratch[..count], out),
        }
    }
}
