//! One breaker per key (`#[circuit_breaker(key = host)]`), in bounded memory.
//!
//! The breakers of one function live in a map of at most `capacity` entries (1,024 by
//! default). When a new key arrives at a full map, idle closed breakers are evicted (idle:
//! no call in flight and no [`Breaker`] handle held) in the order of a CLOCK sweep, so the
//! ones not used since the last sweep go first, until the map is down to 7/8 of capacity.
//! Open and half-open breakers are never evicted: they hold the knowledge that a key is
//! failing. If every entry is open, half-open or busy, the call for the new key runs under
//! a fresh breaker that is not kept (fail-open), and a warning says so.

use std::cell::Cell;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::Breaker;
use super::core::{BreakerState, Config, Core, Exported};
use super::registry::{BreakerSpec, register_keyed};
use crate::error::Name;
use crate::keys::{BreakerKey, Held, KeyMap};

/// One key's breaker, and whether it was used since the last CLOCK sweep.
struct Entry {
    core: Arc<Core>,
    touched: AtomicBool,
}

/// The per-key breakers of one function.
pub struct KeyedBreakers {
    spec: BreakerSpec,
    capacity: usize,
    /// `per_key_metrics`: export one series per key as well as the function's.
    per_key_metrics: bool,
    map: KeyMap<Entry>,
    /// Rejections and transitions of the breakers evicted so far, so that the function's
    /// totals never go down.
    retired: [AtomicU64; 2],
    /// The settings new keys start with, and whether they are critical: the spec's, until
    /// `config::apply` retunes them.
    settings: Mutex<(Config, bool)>,
}

/// The per-key breakers of one function, counted: what health and the exporters show of
/// them, one line per function however many keys it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyedSummary {
    pub(crate) name: &'static str,
    pub(crate) critical: bool,
    pub(crate) per_key_metrics: bool,
    pub(crate) closed: usize,
    pub(crate) open: usize,
    pub(crate) half_open: usize,
    /// Calls turned away by any of its breakers, evicted ones included.
    pub(crate) rejections: u64,
    /// State changes of any of its breakers, evicted ones included.
    pub(crate) transitions: u64,
}

impl KeyedSummary {
    pub(crate) fn keys(&self) -> usize {
        self.closed + self.open + self.half_open
    }
}

impl Debug for KeyedBreakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedBreakers")
            .field("name", &self.spec.name)
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl KeyedBreakers {
    pub(crate) fn new(spec: BreakerSpec, capacity: usize, per_key_metrics: bool) -> Self {
        let spec = BreakerSpec {
            config: spec.config.checked(spec.name),
            ..spec
        };
        KeyedBreakers {
            settings: Mutex::new((spec.config, spec.critical)),
            spec,
            capacity: capacity.max(1),
            per_key_metrics,
            map: KeyMap::new(capacity),
            retired: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    /// The name of the function's breakers (each key's is this and `[key]`).
    pub(crate) fn name(&self) -> &'static str {
        self.spec.name
    }

    /// The settings new keys start with, and whether they are critical.
    pub(crate) fn settings(&self) -> (Config, bool) {
        *self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether [`retune`](Self::retune) would accept `config`.
    pub(crate) fn can_retune(&self, config: &Config) -> Result<(), String> {
        super::trip::can_retune(self.settings().0.trip, config.trip)
    }

    /// Every key's breaker, and every new one, runs by `config` from the next call on.
    pub(crate) fn retune(&self, config: Config, critical: bool) -> Result<(), String> {
        self.can_retune(&config)?;
        // New keys first (never holding this lock and the map's at once: `get` takes them
        // the other way round); a key made meanwhile is in the map by the time it is read.
        *self.settings.lock().unwrap_or_else(PoisonError::into_inner) = (config, critical);
        let mut result = Ok(());
        self.map.for_each(|entry| {
            if result.is_ok() {
                result = entry.core.retune(config, critical);
            }
        });
        result
    }

    /// Its breakers counted by state, and its totals.
    pub(crate) fn summary(&self) -> KeyedSummary {
        let mut summary = KeyedSummary {
            name: self.spec.name,
            critical: self.spec.critical,
            per_key_metrics: self.per_key_metrics,
            rejections: self.retired[0].load(Relaxed),
            transitions: self.retired[1].load(Relaxed),
            ..KeyedSummary::default()
        };
        self.map.for_each(|entry| {
            match entry.core.state() {
                BreakerState::Closed => summary.closed += 1,
                BreakerState::Open => summary.open += 1,
                BreakerState::HalfOpen => summary.half_open += 1,
            }
            summary.rejections += entry.core.rejections();
            summary.transitions += entry.core.transitions();
        });
        summary
    }

    /// How many breakers it holds now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most it will hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The breaker for `key`, made on first use.
    pub fn get<K: ?Sized + BreakerKey>(&self, key: &K) -> Arc<Core> {
        let made = Cell::new(false);
        let make = || {
            made.set(true);
            let (config, critical) = self.settings();
            let name = Name::shared(&format!("{}[{key:?}]", self.spec.name));
            Entry {
                core: Arc::new(Core::new(name, config).critical(critical).exported(
                    Exported::Key {
                        function: self.spec.name,
                        per_key_metrics: self.per_key_metrics,
                    },
                )),
                touched: AtomicBool::new(true),
            }
        };
        let sweep = |map: &KeyMap<Entry>| {
            evict(
                map,
                self.capacity - self.capacity / 8,
                &self.retired,
                self.spec.name,
            )
        };
        self.map.with(key, make, sweep, |held| match held {
            Held::Kept(entry) => {
                if made.get() {
                    crate::observe::breaker_keys(self.spec.name, 1);
                } else if !entry.touched.load(Relaxed) {
                    entry.touched.store(true, Relaxed);
                }
                entry.core.clone()
            }
            Held::Unkept(_) => {
                tracing::warn!(
                    target: "steadfast",
                    breaker = self.spec.name,
                    capacity = self.capacity,
                    "every per-key breaker of `{}` is open, half-open or in use; the call for {key:?} runs under a breaker that is not kept",
                    self.spec.name,
                );
                let name = Name::shared(&format!("{}[{key:?}]", self.spec.name));
                let (config, critical) = self.settings();
                Arc::new(
                    Core::new(name, config)
                        .critical(critical)
                        .exported(Exported::Unkept {
                            function: self.spec.name,
                        }),
                )
            }
        })
    }

    pub(crate) fn find(&self, name: &str) -> Option<Breaker> {
        let mut found = None;
        self.map.for_each(|e| {
            if found.is_none() && e.core.name() == name {
                found = Some(Breaker(e.core.clone()));
            }
        });
        found
    }

    pub(crate) fn collect_into(&self, out: &mut Vec<Breaker>) {
        self.map.for_each(|e| out.push(Breaker(e.core.clone())));
    }
}

/// A CLOCK sweep: evicts idle closed breakers not touched since the last sweep, then, if
/// that was not enough, the other idle closed ones, until `target` remain.
fn evict(map: &KeyMap<Entry>, target: usize, retired: &[AtomicU64; 2], name: &'static str) {
    let mut len = map.len();
    let evictable =
        |e: &Entry| e.core.state() == BreakerState::Closed && Arc::strong_count(&e.core) == 1;
    for second_chance in [false, true] {
        map.retain(|e| {
            if len <= target || !evictable(e) {
                return true;
            }
            if !second_chance && e.touched.swap(false, Relaxed) {
                return true;
            }
            crate::observe::breaker_keys(name, -1);
            retired[0].fetch_add(e.core.rejections(), Relaxed);
            retired[1].fetch_add(e.core.transitions(), Relaxed);
            len -= 1;
            false
        });
        if len <= target {
            break;
        }
    }
}

/// The `static` behind a function with `key = …`.
#[derive(Debug)]
pub struct KeyedSlot {
    keyed: OnceLock<KeyedBreakers>,
    spec: super::Spec<(BreakerSpec, usize, bool)>,
}

impl KeyedSlot {
    /// An empty slot, for a `static`: `spec` is the breakers' spec, `max_keys` and
    /// `per_key_metrics`.
    pub const fn new(spec: super::Spec<(BreakerSpec, usize, bool)>) -> Self {
        KeyedSlot {
            keyed: OnceLock::new(),
            spec,
        }
    }

    /// The function's per-key breakers, made and registered on first use.
    #[inline]
    pub fn get(&'static self) -> &'static KeyedBreakers {
        if let Some(keyed) = self.keyed.get() {
            return keyed;
        }
        self.init()
    }

    /// Not generic: compiled once rather than once per decorated function.
    #[cold]
    #[inline(never)]
    fn init(&'static self) -> &'static KeyedBreakers {
        let mut fresh = false;
        let keyed = self.keyed.get_or_init(|| {
            fresh = true;
            let (spec, capacity, per_key_metrics) = self.spec.get();
            KeyedBreakers::new(spec, capacity, per_key_metrics)
        });
        if fresh {
            register_keyed(keyed);
        }
        keyed
    }
}
