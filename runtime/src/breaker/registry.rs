//! Every breaker of the process, by name.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use super::Breaker;
use super::core::{Config, Core};
use super::keyed::KeyedBreakers;
use crate::error::Name;

/// What a decorated function knows about its breaker at compile time.
#[derive(Debug, Clone, Copy)]
pub struct BreakerSpec {
    /// `name = "…"`, or `module_path!()::fn_name`.
    pub name: &'static str,
    /// True when the name was given with `name = "…"`: functions that give the same name
    /// share one breaker. Default names are never shared.
    pub named: bool,
    /// `critical`: open, it makes [`health`](crate::health) unhealthy.
    pub critical: bool,
    /// Its configuration.
    pub config: Config,
}

#[derive(Default)]
struct Registry {
    single: Vec<(bool, Arc<Core>)>,
    keyed: Vec<&'static KeyedBreakers>,
}

crate::listed::section!(
    /// Every `#[circuit_breaker]` function's breaker (without `key`).
    fn listed_breakers() -> super::BreakerSlot,
    "steadfast_0_1_breakers"
);
crate::listed::section!(
    /// Every `#[circuit_breaker(key = …)]` function's breakers.
    fn listed_keyed_breakers() -> super::KeyedSlot,
    "steadfast_0_1_keyed_breakers"
);

/// Registers the breaker of every decorated function in the program (listed before `main`),
/// so that every one is known, at zero, before its first call. Cheap once done.
pub(crate) fn register_all() {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.load(std::sync::atomic::Ordering::Acquire) {
        return;
    }
    for slot in listed_breakers() {
        slot.get();
    }
    for slot in listed_keyed_breakers() {
        slot.get();
    }
    DONE.store(true, std::sync::atomic::Ordering::Release);
}

fn registry() -> MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The breaker of a function without `key`: shared with every other function that named
/// it the same, or new.
pub(crate) fn register(spec: BreakerSpec) -> Arc<Core> {
    let mut registry = registry();
    if spec.named {
        if let Some((_, core)) = registry
            .single
            .iter()
            .find(|(named, core)| *named && core.name() == spec.name)
        {
            if core.config() != spec.config || core.is_critical() != spec.critical {
                tracing::warn!(
                    target: "steadfast",
                    breaker = spec.name,
                    "functions sharing circuit breaker `{}` configure it differently; the first one called wins ({:?})",
                    spec.name,
                    core.config(),
                );
            }
            return core.clone();
        }
    }
    let taken = |name: &str| registry.single.iter().any(|(_, c)| c.name() == name);
    let name = if taken(spec.name) {
        // Two unnamed methods of the same name in one module: keep them apart.
        let unique = (2..)
            .map(|n| format!("{}#{n}", spec.name))
            .find(|candidate| !taken(candidate))
            .unwrap_or_default();
        Name::leaked(&unique)
    } else {
        Name::leaked(spec.name)
    };
    let config = spec.config.checked(name.as_str());
    let core = Arc::new(Core::new(name, config).critical(spec.critical));
    registry.single.push((spec.named, core.clone()));
    core
}

pub(crate) fn register_keyed(keyed: &'static KeyedBreakers) {
    registry().keyed.push(keyed);
}

/// The registered breaker of this name, if its function has been called.
///
/// ```
/// # #[steadfast::circuit_breaker(name = "search")] fn search() -> Result<(), steadfast::CircuitOpen> { Ok(()) }
/// search().unwrap();
/// let b = steadfast::breaker("search").expect("registered on first call");
/// assert_eq!(b.name(), "search");
/// assert!(steadfast::breaker("no-such-breaker").is_none());
/// ```
pub fn breaker(name: &str) -> Option<Breaker> {
    register_all();
    let registry = registry();
    if let Some((_, core)) = registry.single.iter().find(|(_, c)| c.name() == name) {
        return Some(Breaker(core.clone()));
    }
    registry.keyed.iter().find_map(|keyed| keyed.find(name))
}

/// Every registered breaker, per-key ones included, in the order they were registered.
///
/// ```
/// for b in steadfast::breakers() {
///     println!("{}: {}", b.name(), b.state());
/// }
/// ```
pub fn breakers() -> Vec<Breaker> {
    register_all();
    let registry = registry();
    let mut all: Vec<Breaker> = registry
        .single
        .iter()
        .map(|(_, core)| Breaker(core.clone()))
        .collect();
    for keyed in &registry.keyed {
        keyed.collect_into(&mut all);
    }
    all
}

/// The breakers of functions without `key`, and the per-key breakers grouped by function:
/// what [`health`](crate::health) and the exporters read, so that a thousand keys are one
/// line, not a thousand.
pub(crate) fn by_function() -> (Vec<Breaker>, Vec<&'static KeyedBreakers>) {
    register_all();
    let registry = registry();
    let single = registry
        .single
        .iter()
        .map(|(_, core)| Breaker(core.clone()))
        .collect();
    (single, registry.keyed.clone())
}
