//! How a direction ends: the bytes owed once the writer is gone, the drain's budget, and the
//! closing of either end; apart from the moving of bytes, which never has to ask about it.

use super::{Endpoint, Event, Pump};

impl Pump {
    /// Notes the bytes queued in the source now, when its writer has exited: those are owed to
    /// the destination whatever comes later.
    pub fn mark_owed(&mut self) {
        self.owed = Some(self.source.as_ref().map_or(0, Endpoint::queued));
    }

    /// Limits what the source may still yield to the bytes owed since [`Pump::mark_owed`].
    pub fn limit_to_owed(&mut self) {
        self.budget = Some(self.owed.unwrap_or(0));
    }

    /// Whether everything the source gave was written (or dropped), and it is closed.
    pub fn drained(&self) -> bool {
        self.source.is_none() && !self.wants_write()
    }

    /// Passes an ended source on as the end of the destination, once everything read is
    /// written; says whether it did now.
    pub fn forward_end(&mut self) -> bool {
        let due = self.source.is_none() && self.buffered() == 0 && self.destination.is_some();
        if due {
            self.close_destination();
        }
        due
    }

    /// Stops reading a source whose drain budget is spent; says whether it did now.
    pub fn stop_if_spent(&mut self) -> bool {
        let spent = self.budget_spent() && self.source.is_some();
        if spent {
            self.close_source();
        }
        spent
    }

    /// Whether a limited source has yielded all it may.
    pub fn budget_spent(&self) -> bool {
        self.budget == Some(0)
    }

    /// Writes after a readiness report; `failed` is POLLERR or POLLHUP on the destination.
    /// Returns whether the destination's reader is gone.
    pub fn write_ready(&mut self, failed: bool) -> bool {
        let closed = self.flush() == Event::DestinationClosed;
        closed || failed && self.destination.is_some()
    }

    /// Closes both ends, dropping what was buffered; returns how many bytes that was.
    pub fn shut(&mut self) -> usize {
        let discarded = self.buffered();
        self.close_destination();
        self.close_source();
        discarded
    }

    /// Stops reading: drops the source.
    pub fn close_source(&mut self) {
        self.source = None;
    }

    /// Stops writing: drops the destination and whatever was still buffered for it.
    pub fn close_destination(&mut self) {
        if let Some(destination) = self.destination.take() {
            destination.shutdown_write();
        }
        self.splice = false; // what the source still yields is read and discarded
        self.discard_buffer();
    }

    /// Drops what was read and not yet written, counting it.
    pub fn discard_buffer(&mut self) {
        self.discarded += self.buffered() as u64;
        (self.start, self.end) = (0, 0);
    }
}
