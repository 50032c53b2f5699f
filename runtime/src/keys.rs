//! The per-key state of a gate with `key = …` (a rate limiter's arrival times, a bulkhead's
//! slots): a map from the user's keys to values, bounded by `max_keys`, sharded so that
//! callers with different keys do not share a lock word.
//!
//! Each key is hashed once (`RandomState`: keys are often what a client sends, a tenant or a
//! host, so the hash must not be predictable); the hash picks the shard and finds the entry
//! in a `hashbrown::HashTable` without hashing again. A lookup takes its shard's read lock
//! and runs the caller's code on the value under it, so that a sweep (which takes each
//! shard's write lock in turn) never removes a value a caller is using.

use std::any::Any;
use std::borrow::Borrow;
use std::fmt::Debug;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crossbeam_utils::CachePadded;
use hashbrown::HashTable;

/// A type that can select a breaker, a rate limit or a bulkhead with `key = …`: anything `Hash + Eq + Debug` that can
/// be turned into an owned, `'static` value (`str`, `String`, integers, your own `Clone`
/// types). The `Debug` form names the breaker: `module::f["db-1"]`.
pub trait BreakerKey: Hash + Eq + Debug {
    /// The form kept in the map.
    type Owned: Borrow<Self> + Hash + Eq + Debug + Send + Sync + 'static;
    /// Makes the owned form.
    fn to_owned_key(&self) -> Self::Owned;
}

impl<T> BreakerKey for T
where
    T: ?Sized + ToOwned + Hash + Eq + Debug,
    T::Owned: Hash + Eq + Debug + Send + Sync + 'static,
{
    type Owned = T::Owned;
    fn to_owned_key(&self) -> T::Owned {
        self.to_owned()
    }
}

/// Shards at most: enough that two to a few dozen threads rarely meet on one.
const MAX_SHARDS: usize = 16;

/// One kept key and its value.
struct Keyed<V> {
    hash: u64,
    key: Box<dyn Any + Send + Sync>,
    value: V,
}

impl<V> Keyed<V> {
    /// Whether this entry is `key`'s (whose hash is `hash`).
    #[inline]
    fn is<K: ?Sized + BreakerKey>(&self, hash: u64, key: &K) -> bool {
        self.hash == hash
            && self
                .key
                .downcast_ref::<K::Owned>()
                .is_some_and(|owned| owned.borrow() == key)
    }
}

/// One shard: the entries whose hash ends in its number, on a cache line of its own.
type Shard<V> = CachePadded<RwLock<HashTable<Keyed<V>>>>;

/// Values by key, at most `capacity` of them.
pub(crate) struct KeyMap<V> {
    capacity: usize,
    /// Keys kept, over every shard.
    len: AtomicUsize,
    hasher: RandomState,
    shards: Box<[Shard<V>]>,
}

impl<V> std::fmt::Debug for KeyMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMap")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Where a call's value is: kept in the map, or made for this call only (the map was full
/// of keys that could not be evicted).
pub(crate) enum Held<'a, V> {
    Kept(&'a V),
    Unkept(V),
}

impl<V> KeyMap<V> {
    /// An empty map that keeps at most `capacity` keys (at least 1).
    pub(crate) fn new(capacity: usize) -> KeyMap<V> {
        let capacity = capacity.max(1);
        let shards = capacity.next_power_of_two().min(MAX_SHARDS);
        KeyMap {
            capacity,
            len: AtomicUsize::new(0),
            hasher: RandomState::new(),
            shards: (0..shards)
                .map(|_| CachePadded::new(RwLock::new(HashTable::new())))
                .collect(),
        }
    }

    /// The most it keeps.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keys kept now.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    fn shard(&self, hash: u64) -> &RwLock<HashTable<Keyed<V>>> {
        // The low bits pick the shard; the table uses the high ones (hashbrown's control
        // bytes), so the two do not correlate.
        &self.shards[(hash as usize) & (self.shards.len() - 1)]
    }

    fn read(shard: &RwLock<HashTable<Keyed<V>>>) -> RwLockReadGuard<'_, HashTable<Keyed<V>>> {
        shard.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(shard: &RwLock<HashTable<Keyed<V>>>) -> RwLockWriteGuard<'_, HashTable<Keyed<V>>> {
        shard.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the value of `key`, made with `make` on its first use. When the map is
    /// full, `sweep` is called first to make room (with [`retain`](Self::retain)); if it
    /// made none, `f` gets a value made for this call and not kept.
    #[inline]
    pub(crate) fn with<K, R>(
        &self,
        key: &K,
        make: impl FnOnce() -> V,
        sweep: impl FnOnce(&Self),
        f: impl FnOnce(Held<'_, V>) -> R,
    ) -> R
    where
        K: ?Sized + BreakerKey,
    {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash);
        {
            let table = Self::read(shard);
            if let Some(e) = table.find(hash, |e| e.is(hash, key)) {
                return f(Held::Kept(&e.value));
            }
        }
        self.insert(key, hash, make, sweep, f)
    }

    /// [`with`](Self::with) for a key not found under the read lock. Not inlined: the
    /// first use of a key is the rare path.
    #[cold]
    #[inline(never)]
    fn insert<K, R>(
        &self,
        key: &K,
        hash: u64,
        make: impl FnOnce() -> V,
        sweep: impl FnOnce(&Self),
        f: impl FnOnce(Held<'_, V>) -> R,
    ) -> R
    where
        K: ?Sized + BreakerKey,
    {
        let shard = self.shard(hash);
        let eq = |e: &Keyed<V>| e.is(hash, key);
        if self.len() >= self.capacity {
            // Sweep with no shard lock held: it takes each shard's in turn.
            let found = Self::read(shard).find(hash, eq).is_some();
            if !found {
                sweep(self);
            }
        }
        let mut table = Self::write(shard);
        if let Some(e) = table.find(hash, eq) {
            return f(Held::Kept(&e.value));
        }
        // Counted before it is in: two threads inserting into two shards of an almost full
        // map cannot both pass.
        let reserved = self
            .len
            .fetch_update(Relaxed, Relaxed, |n| (n < self.capacity).then_some(n + 1))
            .is_ok();
        if !reserved {
            drop(table);
            return f(Held::Unkept(make()));
        }
        let entry = table.insert_unique(
            hash,
            Keyed {
                hash,
                key: Box::new(key.to_owned_key()),
                value: make(),
            },
            |e| e.hash,
        );
        let value = &entry.into_mut().value;
        f(Held::Kept(value))
    }

    /// Keeps the values `keep` says to keep, removing the others; each shard is locked for
    /// writing in turn, so no caller is using a value while `keep` looks at it.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&V) -> bool) {
        for shard in self.shards.iter() {
            let mut table = Self::write(shard);
            let before = table.len();
            table.retain(|e| keep(&e.value));
            self.len.fetch_sub(before - table.len(), Relaxed);
        }
    }

    /// Runs `f` on every kept value, one shard at a time (under its read lock).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&V)) {
        for shard in self.shards.iter() {
            for e in Self::read(shard).iter() {
                f(&e.value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_find_their_values_and_the_map_stays_bounded() {
        let map: KeyMap<u32> = KeyMap::new(3);
        let kept = |map: &KeyMap<u32>, key: &str, value: u32| {
            map.with(
                key,
                || value,
                |m| m.retain(|v| *v % 2 == 1),
                |held| match held {
                    Held::Kept(v) => Some(*v),
                    Held::Unkept(_) => None,
                },
            )
        };
        assert_eq!(kept(&map, "a", 1), Some(1));
        assert_eq!(kept(&map, "a", 99), Some(1), "made once");
        assert_eq!(
            kept(&map, &String::from("b"), 2),
            Some(2),
            "String and &str alike"
        );
        assert_eq!(kept(&map, "c", 3), Some(3));
        assert_eq!(map.len(), 3);
        // Full: the sweep removes the even value (`b`) and `d` takes its place.
        assert_eq!(kept(&map, "d", 5), Some(5));
        assert_eq!(map.len(), 3);
        // Full of odd values the sweep keeps: `e` gets a value that is not kept.
        assert_eq!(kept(&map, "e", 7), None);
        assert_eq!(map.len(), 3);
        let mut all = Vec::new();
        map.for_each(|v| all.push(*v));
        all.sort_unstable();
        assert_eq!(all, [1, 3, 5]);
    }

    #[test]
    fn racing_inserts_never_exceed_the_capacity() {
        let map: KeyMap<u64> = KeyMap::new(50);
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let map = &map;
                s.spawn(move || {
                    for i in 0..1_000u64 {
                        map.with(&(t * 1_000 + i), || i, |_| {}, |_| ());
                    }
                });
            }
        });
        assert_eq!(map.len(), 50);
        let mut n = 0;
        map.for_each(|_| n += 1);
        assert_eq!(n, 50);
    }
}
