//! The stderr pump's sink: the receiver (the caller's, a file, agentpipe's stderr) and the
//! last bytes kept, often the reason an agent failed.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use super::lock;

pub(crate) struct Tail {
    receiver: Option<Box<dyn Write + Send>>,
    kept: Arc<Mutex<VecDeque<u8>>>,
    size: usize,
}

impl Tail {
    /// Copies to `receiver`, if there is one, keeping the last `size` bytes.
    pub fn new(receiver: Option<Box<dyn Write + Send>>, size: usize) -> Tail {
        Tail {
            receiver,
            kept: Arc::default(),
            size,
        }
    }

    /// What reads the tail once the copy is over.
    pub fn kept(&self) -> Box<dyn FnOnce() -> Vec<u8> + Send> {
        let kept = Arc::clone(&self.kept);
        Box::new(move || lock(&kept).iter().copied().collect())
    }
}

impl Write for Tail {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut kept = lock(&self.kept);
        kept.extend(bytes);
        let extra = kept.len().saturating_sub(self.size);
        kept.drain(..extra);
        drop(kept);
        match &mut self.receiver {
            Some(receiver) => receiver.write_all(bytes).map(|()| bytes.len()),
            None => Ok(bytes.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.receiver
            .as_mut()
            .map_or(Ok(()), |receiver| receiver.flush())
    }
}
