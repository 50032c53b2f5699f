//! The breaker's state, packed into one `u64` so that every change is one compare-and-swap.
//!
//! ```text
//!  63            32 31                  2 1   0
//! +----------------+---------------------+-----+
//! |   generation   |       payload       |phase|
//! +----------------+---------------------+-----+
//! ```
//!
//! `phase`: closed, open, half-open, forced open. `generation` grows by one at every
//! transition, so a call admitted in one cycle can tell that the breaker has moved on.
//! `payload`: while closed, the run of consecutive failures (consecutive mode); while
//! half-open, the probes admitted (bits 2..17) and the probes that succeeded (17..32).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Closed,
    Open,
    HalfOpen,
    Forced,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

const PHASE_MASK: u64 = 0b11;
const PAYLOAD_SHIFT: u32 = 2;
const PAYLOAD_MASK: u64 = (1 << 30) - 1;
const PROBE_BITS: u32 = 15;
const PROBE_MASK: u64 = (1 << PROBE_BITS) - 1;

/// Largest run of consecutive failures the word can hold.
pub(crate) const MAX_FAILURES: u32 = PAYLOAD_MASK as u32;
/// Largest `half_open_probes` the word can hold.
pub(crate) const MAX_PROBES: u32 = PROBE_MASK as u32;

impl Word {
    fn pack(generation: u32, payload: u64, phase: Phase) -> Word {
        let phase = match phase {
            Phase::Closed => 0,
            Phase::Open => 1,
            Phase::HalfOpen => 2,
            Phase::Forced => 3,
        };
        Word((u64::from(generation) << 32) | ((payload & PAYLOAD_MASK) << PAYLOAD_SHIFT) | phase)
    }

    pub(crate) fn closed(generation: u32) -> Word {
        Word::pack(generation, 0, Phase::Closed)
    }

    pub(crate) fn open(generation: u32) -> Word {
        Word::pack(generation, 0, Phase::Open)
    }

    pub(crate) fn forced(generation: u32) -> Word {
        Word::pack(generation, 0, Phase::Forced)
    }

    pub(crate) fn half_open(generation: u32, admitted: u32, succeeded: u32) -> Word {
        let payload = (u64::from(admitted) & PROBE_MASK)
            | ((u64::from(succeeded) & PROBE_MASK) << PROBE_BITS);
        Word::pack(generation, payload, Phase::HalfOpen)
    }

    pub(crate) fn phase(self) -> Phase {
        match self.0 & PHASE_MASK {
            0 => Phase::Closed,
            1 => Phase::Open,
            2 => Phase::HalfOpen,
            _ => Phase::Forced,
        }
    }

    pub(crate) fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    fn payload(self) -> u64 {
        (self.0 >> PAYLOAD_SHIFT) & PAYLOAD_MASK
    }

    /// Consecutive failures (closed).
    pub(crate) fn failures(self) -> u32 {
        self.payload() as u32
    }

    pub(crate) fn with_failures(self, failures: u32) -> Word {
        Word::pack(
            self.generation(),
            u64::from(failures.min(MAX_FAILURES)),
            self.phase(),
        )
    }

    /// Probes admitted so far in this half-open cycle.
    pub(crate) fn admitted(self) -> u32 {
        (self.payload() & PROBE_MASK) as u32
    }

    /// Probes that succeeded so far in this half-open cycle.
    pub(crate) fn succeeded(self) -> u32 {
        ((self.payload() >> PROBE_BITS) & PROBE_MASK) as u32
    }

    /// Is this the same phase of the same cycle as `generation`?
    pub(crate) fn is(self, phase: Phase, generation: u32) -> bool {
        self.phase() == phase && self.generation() == generation
    }
}

impl std::fmt::Debug for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Word")
            .field("phase", &self.phase())
            .field("generation", &self.generation())
            .field("payload", &self.payload())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let w = Word::half_open(u32::MAX, MAX_PROBES, 7);
        assert_eq!(w.phase(), Phase::HalfOpen);
        assert_eq!(w.generation(), u32::MAX);
        assert_eq!(w.admitted(), MAX_PROBES);
        assert_eq!(w.succeeded(), 7);
        let w = Word::closed(3).with_failures(u32::MAX);
        assert_eq!(w.failures(), MAX_FAILURES);
        assert!(w.is(Phase::Closed, 3));
        assert_eq!(Word::forced(9).phase(), Phase::Forced);
        assert_eq!(Word::open(0).phase(), Phase::Open);
    }
}
