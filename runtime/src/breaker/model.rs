//! A model-based test: random sequences of admit / succeed / fail / ignore / drop / panic /
//! advance time / reset / force open, driven into a real breaker (consecutive mode, under a
//! manual clock) and into a small reference model written here from the contract; every
//! admission, rejection and state must agree.

use std::time::Duration;

use proptest::prelude::*;

use super::core::{BreakerState, Config, Core, Permit};
use super::trip::TripPolicy;
use crate::clock::ManualClock;
use crate::error::Name;

const OPEN_FOR_MS: u64 = 10;

#[derive(Debug, Clone)]
enum Op {
    Admit,
    Succeed(usize),
    Fail(usize),
    Ignore(usize),
    Drop(usize),
    Panic(usize),
    Advance(u64),
    Reset,
    ForceOpen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Admit),
        3 => any::<usize>().prop_map(Op::Succeed),
        4 => any::<usize>().prop_map(Op::Fail),
        1 => any::<usize>().prop_map(Op::Ignore),
        1 => any::<usize>().prop_map(Op::Drop),
        1 => any::<usize>().prop_map(Op::Panic),
        3 => (0..25u64).prop_map(Op::Advance),
        1 => Just(Op::Reset),
        1 => Just(Op::ForceOpen),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Closed {
        failures: u32,
    },
    Open {
        until: u64,
    },
    HalfOpen {
        admitted: u32,
        succeeded: u32,
        since: u64,
    },
    Forced,
}

/// The contract, written plainly.
struct Model {
    threshold: u32,
    probes: u32,
    phase: Phase,
    generation: u64,
    now: u64,
}

#[derive(Debug, Clone, Copy)]
struct ModelPermit {
    generation: u64,
    probe: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
    Nothing,
}

impl Model {
    fn state(&self) -> BreakerState {
        match self.phase {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { .. } | Phase::Forced => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.generation += 1;
    }

    /// Ok(permit) or Err(retry after, in ms).
    fn admit(&mut self) -> Result<ModelPermit, Duration> {
        match self.phase {
            Phase::Closed { .. } => Ok(ModelPermit {
                generation: self.generation,
                probe: false,
            }),
            Phase::Open { until } if self.now < until => {
                Err(Duration::from_millis(until - self.now))
            }
            Phase::Open { .. } => {
                self.enter(Phase::HalfOpen {
                    admitted: 1,
                    succeeded: 0,
                    since: self.now,
                });
                Ok(ModelPermit {
                    generation: self.generation,
                    probe: true,
                })
            }
            Phase::HalfOpen {
                admitted,
                succeeded,
                since,
            } if admitted < self.probes => {
                self.phase = Phase::HalfOpen {
                    admitted: admitted + 1,
                    succeeded,
                    since,
                };
                Ok(ModelPermit {
                    generation: self.generation,
                    probe: true,
                })
            }
            Phase::HalfOpen { since, .. } if self.now - since >= OPEN_FOR_MS => {
                // The probes' lease ran out.
                self.enter(Phase::HalfOpen {
                    admitted: 1,
                    succeeded: 0,
                    since: self.now,
                });
                Ok(ModelPermit {
                    generation: self.generation,
                    probe: true,
                })
            }
            Phase::HalfOpen { .. } => Err(Duration::ZERO),
            Phase::Forced => Err(Duration::MAX),
        }
    }

    fn finish(&mut self, permit: ModelPermit, outcome: Outcome) {
        if permit.generation != self.generation {
            return; // from an earlier cycle
        }
        match (self.phase, permit.probe, outcome) {
            (Phase::Closed { .. }, false, Outcome::Success) => {
                self.phase = Phase::Closed { failures: 0 };
            }
            (Phase::Closed { failures }, false, Outcome::Failure) => {
                if failures + 1 >= self.threshold {
                    self.enter(Phase::Open {
                        until: self.now + OPEN_FOR_MS,
                    });
                } else {
                    self.phase = Phase::Closed {
                        failures: failures + 1,
                    };
                }
            }
            (
                Phase::HalfOpen {
                    admitted,
                    succeeded,
                    since,
                },
                true,
                Outcome::Success,
            ) => {
                if succeeded + 1 >= self.probes {
                    self.enter(Phase::Closed { failures: 0 });
                } else {
                    self.phase = Phase::HalfOpen {
                        admitted,
                        succeeded: succeeded + 1,
                        since,
                    };
                }
            }
            (Phase::HalfOpen { .. }, true, Outcome::Failure) => {
                self.enter(Phase::Open {
                    until: self.now + OPEN_FOR_MS,
                });
            }
            (
                Phase::HalfOpen {
                    admitted,
                    succeeded,
                    since,
                },
                true,
                Outcome::Nothing,
            ) if admitted > succeeded => {
                self.phase = Phase::HalfOpen {
                    admitted: admitted - 1,
                    succeeded,
                    since,
                };
            }
            _ => {}
        }
    }
}

fn finish(permit: Permit<'_, ManualClock>, op: &Op) {
    match op {
        Op::Succeed(_) => permit.success(),
        Op::Fail(_) => permit.failure(),
        Op::Ignore(_) => permit.ignore(),
        Op::Drop(_) => drop(permit),
        Op::Panic(_) => {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let _permit = permit;
                std::panic::panic_any(ModelPanic);
            }));
        }
        _ => unreachable!("not an outcome"),
    }
}

/// The payload of the panics this test makes on purpose (kept out of the test output).
struct ModelPanic;

fn quiet_model_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<ModelPanic>() {
                default(info);
            }
        }));
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_breaker_behaves_as_the_model(
        threshold in 1..4u32,
        probes in 1..4u32,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        quiet_model_panics();
        let clock = ManualClock::default();
        let config = Config {
            trip: TripPolicy::Consecutive { threshold },
            open_for: Duration::from_millis(OPEN_FOR_MS),
            half_open_probes: probes,
        };
        let core = Core::with_clock(Name::shared("model"), config, clock.clone());
        let mut model = Model { threshold, probes, phase: Phase::Closed { failures: 0 }, generation: 0, now: 0 };
        let mut permits: Vec<(Permit<'_, ManualClock>, ModelPermit)> = Vec::new();

        for (step, op) in ops.iter().enumerate() {
            match op {
                Op::Admit => {
                    let real = core.try_acquire();
                    let expected = model.admit();
                    match (real, expected) {
                        (Ok(permit), Ok(m)) => permits.push((permit, m)),
                        (Err(open), Err(retry_after)) => prop_assert_eq!(open.retry_after(), retry_after, "step {}", step),
                        (real, expected) => prop_assert!(false, "step {}: real {:?}, model {:?}", step, real.map(|_| ()), expected),
                    }
                }
                Op::Succeed(i) | Op::Fail(i) | Op::Ignore(i) | Op::Drop(i) | Op::Panic(i) => {
                    if permits.is_empty() {
                        continue;
                    }
                    let (permit, m) = permits.remove(i % permits.len());
                    let outcome = match op {
                        Op::Succeed(_) => Outcome::Success,
                        Op::Fail(_) | Op::Panic(_) => Outcome::Failure,
                        _ => Outcome::Nothing,
                    };
                    finish(permit, op);
                    model.finish(m, outcome);
                }
                Op::Advance(ms) => {
                    clock.advance(Duration::from_millis(*ms));
                    model.now += ms;
                }
                Op::Reset => {
                    core.reset();
                    model.enter(Phase::Closed { failures: 0 });
                }
                Op::ForceOpen => {
                    core.force_open();
                    model.enter(Phase::Forced);
                }
            }
            prop_assert_eq!(core.state(), model.state(), "after step {} ({:?})", step, op);
        }
    }
}
