//! The session's log as the engine last read it. Each round reads only
//! the events after the last seq it holds and keeps the rest, so a round
//! costs the new events, not the whole log, however long the exercise ran.
//!
//! Sound because the log is append-only and its seqs have no gaps and
//! commit in order (each store serialises a session's appends), so no
//! event can appear later below a seq already read. A restart starts with
//! an empty tail and reads the whole log once: the log stays the engine's
//! only state.

use std::sync::Arc;

use enshu_store::{Event, SessionId, Store, StoreError};

#[derive(Debug, Default, Clone)]
pub struct LogTail {
    events: Arc<Vec<Event>>,
}

impl LogTail {
    /// The seq of the last event held (0: none).
    pub fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |event| event.seq)
    }

    /// Reads the events appended since the last refresh and returns the
    /// whole log, in seq order. The returned handle is cheap; hold it for
    /// a round, not across rounds (a handle still held when new events
    /// arrive makes the next refresh copy the log once).
    pub async fn refresh(
        &mut self,
        store: &Store,
        session: SessionId,
    ) -> Result<Arc<Vec<Event>>, StoreError> {
        let new = store.events_after(session, self.last_seq()).await?;
        if !new.is_empty() {
            Arc::make_mut(&mut self.events).extend(new);
        }
        Ok(Arc::clone(&self.events))
    }
}
