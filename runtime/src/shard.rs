//! Which shard of a per-function or per-breaker counter this thread writes.
//!
//! A thread takes one of [`OWNED`] slots the first time it counts and gives it back when it
//! ends. While it holds a slot, it is the only writer of that slot's shard in every counter,
//! so it adds with a plain load and store — no locked instruction, no cache line shared
//! with another writer. Threads beyond [`OWNED`] share the last shard and add with an atomic
//! read-modify-write. A slot passes from a thread that ended to the next one through a
//! mutex, so the new owner starts from the last value the old one stored.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use crossbeam_utils::CachePadded;

/// Slots with a single writer each.
pub(crate) const OWNED: usize = 8;
/// Shards of a counter: one per owned slot, and a shared one.
pub(crate) const SHARDS: usize = OWNED + 1;

static FREE: Mutex<Option<Vec<usize>>> = Mutex::new(None);

struct Slot(Option<usize>);

impl Slot {
    fn take() -> Slot {
        let mut free = FREE.lock().unwrap_or_else(PoisonError::into_inner);
        Slot(free.get_or_insert_with(|| (0..OWNED).rev().collect()).pop())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(slot) = self.0 {
            let mut free = FREE.lock().unwrap_or_else(PoisonError::into_inner);
            free.get_or_insert_with(Vec::new).push(slot);
        }
    }
}

thread_local! {
    static SLOT: Slot = Slot::take();
}

/// This thread's shard: its own (`Some`), or the shared one (`None`) when every slot is
/// taken or the thread is being torn down.
#[inline]
pub(crate) fn owned_slot() -> Option<usize> {
    SLOT.try_with(|slot| slot.0).ok().flatten()
}

/// Adds `n` to the shard `counter` of this thread: a plain load and store when the thread
/// owns the shard, an atomic add on the shared one.
#[inline]
pub(crate) fn add(counter: &AtomicU64, owned: bool, n: u64) {
    if owned {
        counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
    } else {
        counter.fetch_add(n, Relaxed);
    }
}

/// A counter that threads add to without sharing a cache line or a locked instruction.
#[derive(Debug, Default)]
pub(crate) struct ShardedCounter([CachePadded<AtomicU64>; SHARDS]);

impl ShardedCounter {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        let slot = owned_slot();
        add(&self.0[slot.unwrap_or(OWNED)], slot.is_some(), n);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.iter().map(|c| c.load(Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_beyond_the_owned_slots_share_one_and_nothing_is_lost() {
        let counter = ShardedCounter::default();
        std::thread::scope(|s| {
            for _ in 0..(OWNED * 3) {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        counter.add(1);
                    }
                });
            }
        });
        assert_eq!(counter.get(), (OWNED * 3 * 10_000) as u64);
    }

    #[test]
    fn slots_are_given_back_and_taken_again() {
        let counter = ShardedCounter::default();
        for _ in 0..50 {
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| counter.add(2));
                }
            });
        }
        assert_eq!(counter.get(), 400);
    }
}
