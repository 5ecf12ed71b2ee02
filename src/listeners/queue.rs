//! One listener's outbox and the shape of what is sent from it.
//!
//! Pure: no I/O, no clocks.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use crate::catalog::ChangeEvent;

/// A FIFO that holds at most `capacity` items: pushing onto a full queue drops the oldest
/// item and counts it. The newest item is therefore always kept.
#[derive(Clone, Debug)]
pub struct BoundedQueue<T> {
    items: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> BoundedQueue<T> {
    /// An empty queue of `capacity` items (at least one: Go refuses unbuffered listeners).
    pub fn new(capacity: usize) -> BoundedQueue<T> {
        let capacity = capacity.max(1);
        BoundedQueue {
            items: VecDeque::with_capacity(capacity),
            capacity,
            dropped: 0,
        }
    }

    /// Appends `item`; when full, first drops the oldest item, counts it and returns it.
    pub fn push(&mut self, item: T) -> Option<T> {
        let evicted = if self.items.len() >= self.capacity {
            self.dropped += 1;
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back(item);
        evicted
    }

    /// Takes the oldest item.
    pub fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The most items it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Items dropped because the queue was full, since it was created.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// The body POSTed for one change: `{"State":<state>,"ChangeEvent":<change>}`, compact, the
/// same bytes as serialising a [`StateChangedEvent`](crate::catalog::StateChangedEvent).
/// `state_json` is the snapshot's cached compact state, so a batch of changes encodes the
/// state once. `None` only if the change cannot be encoded.
pub fn event_body(state_json: &[u8], change: &ChangeEvent) -> Option<Bytes> {
    let change_json = serde_json::to_vec(change).ok()?;
    let mut body = BytesMut::with_capacity(state_json.len() + change_json.len() + 27);
    body.put_slice(b"{\"State\":");
    body.put_slice(state_json);
    body.put_slice(b",\"ChangeEvent\":");
    body.put_slice(&change_json);
    body.put_u8(b'}');
    Some(body.freeze())
}

/// How long to wait after the `failures`-th failed attempt (1-based) before the next one:
/// Go's schedule, 0, 0, 100, 200, 300, 400 ms, then 100 ms more per failure.
pub fn retry_delay(failures: u32) -> Duration {
    Duration::from_millis(100 * u64::from(failures.saturating_sub(2)))
}
