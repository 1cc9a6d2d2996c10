//! Fault injection: what can go wrong between the centre and its bank, on demand.
//!
//! Faults apply only to well-formed, signed requests (a 400 / 401 / 404 is always given
//! straight away). Every request to the bank API is delayed by `latency_ms` plus a
//! uniform `0..=jitter_ms`. An instruction request (`POST /v1/instructions`) further:
//!
//! 1. with probability `timeout_rate` % **hangs** for `hang_ms` — by the dice, half of
//!    these hang *before* the bank receives the request (the instructions execute late,
//!    unless a status query closed their serials meanwhile) and half *after* executing
//!    them (the answer is lost to a client with a shorter timeout);
//! 2. with probability `notice_before_response_rate` % delivers the requests' result
//!    notices and waits for their acknowledgement **before** answering;
//! 3. rejects each new instruction with probability `reject_rate` % (a definite,
//!    clearly simulated rejection).
//!
//! Each notice is delayed by a uniform `0..=reorder_notices_ms` (so notices arrive out of
//! order) and delivered a second time, with the same `notice_id`, with probability
//! `duplicate_notice_rate` %. With `crash_every` = N the process ends abruptly right after
//! committing its N-th, 2N-th, … execution and before answering.
//!
//! The dice are seeded ([`Faults::seed`]), so a run with the same requests in the same
//! order injects the same faults.

use std::fmt;
use std::time::Duration;

pub use anju_exchange::sim::faults::{Percent, PercentError};

use super::Prng;

/// The fault-injection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// Added to every answer, ms.
    pub latency_ms: u64,
    /// Up to this much more, uniformly, ms.
    pub jitter_ms: u64,
    /// Chance that an instruction request hangs for `hang_ms`.
    pub timeout_rate: Percent,
    /// How long a hanging request hangs, ms.
    pub hang_ms: u64,
    /// Chance that a new instruction is rejected (simulated).
    pub reject_rate: Percent,
    /// Chance that a notice is delivered twice.
    pub duplicate_notice_rate: Percent,
    /// Each notice waits a uniform `0..=reorder_notices_ms` before its first delivery.
    pub reorder_notices_ms: u64,
    /// Chance that an instruction request's notices are delivered (and acknowledged)
    /// before the request is answered.
    pub notice_before_response_rate: Percent,
    /// End the process right after every N-th committed execution.
    pub crash_every: Option<u64>,
    /// Seed of the dice.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency_ms: 0,
            jitter_ms: 0,
            timeout_rate: Percent::ZERO,
            hang_ms: 30_000,
            reject_rate: Percent::ZERO,
            duplicate_notice_rate: Percent::ZERO,
            reorder_notices_ms: 0,
            notice_before_response_rate: Percent::ZERO,
            crash_every: None,
            seed: 1,
        }
    }
}

/// When a hanging request hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hang {
    /// Before the bank receives it: nothing is executed until the hang ends.
    Before(Duration),
    /// After executing it: the answer comes late.
    After(Duration),
}

/// What to do with one instruction request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitPlan {
    /// Delay before anything else.
    pub delay: Duration,
    /// A hang, before or after executing.
    pub hang: Option<Hang>,
    /// Deliver the result notices before answering.
    pub notice_before_response: bool,
    /// One plan per instruction, in order.
    pub instructions: Vec<InstructionPlan>,
}

/// What to do with one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstructionPlan {
    /// Reject it (when it is new).
    pub reject: bool,
    /// Its notice's plan.
    pub notice: NoticePlan,
}

/// What to do with one notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoticePlan {
    /// Wait before the first delivery.
    pub delay: Duration,
    /// Deliver it twice.
    pub duplicate: bool,
}

/// The seeded dice.
#[derive(Debug, Clone)]
pub struct Dice {
    rng: Prng,
}

impl Dice {
    /// Dice from a seed.
    pub fn new(seed: u64) -> Dice {
        Dice {
            rng: Prng::new(seed),
        }
    }

    fn upto(&mut self, max: u64) -> u64 {
        if max == 0 {
            0
        } else {
            self.rng.next_u64() % (max + 1)
        }
    }

    fn hit(&mut self, p: Percent) -> bool {
        p != Percent::ZERO && self.rng.percent(u32::from(p.get()))
    }
}

impl Faults {
    /// Whether no fault is configured at all.
    pub fn is_quiet(&self) -> bool {
        self.latency_ms == 0
            && self.jitter_ms == 0
            && self.timeout_rate == Percent::ZERO
            && self.reject_rate == Percent::ZERO
            && self.duplicate_notice_rate == Percent::ZERO
            && self.reorder_notices_ms == 0
            && self.notice_before_response_rate == Percent::ZERO
            && self.crash_every.is_none()
    }

    /// The delay of a read (status, balance, statement).
    pub fn plan_read(&self, dice: &mut Dice) -> Duration {
        let jitter = dice.upto(self.jitter_ms);
        Duration::from_millis(self.latency_ms.saturating_add(jitter))
    }

    /// The plan of one notice not tied to a request (a credit).
    pub fn plan_notice(&self, dice: &mut Dice) -> NoticePlan {
        NoticePlan {
            delay: Duration::from_millis(dice.upto(self.reorder_notices_ms)),
            duplicate: dice.hit(self.duplicate_notice_rate),
        }
    }

    /// Rolls the dice for one request of `n` instructions.
    pub fn plan_submit(&self, dice: &mut Dice, n: usize) -> SubmitPlan {
        let delay = self.plan_read(dice);
        let hang = if dice.hit(self.timeout_rate) {
            let d = Duration::from_millis(self.hang_ms);
            Some(if dice.rng.percent(50) {
                Hang::Before(d)
            } else {
                Hang::After(d)
            })
        } else {
            None
        };
        let notice_before_response = dice.hit(self.notice_before_response_rate);
        let instructions = (0..n)
            .map(|_| InstructionPlan {
                reject: dice.hit(self.reject_rate),
                notice: self.plan_notice(dice),
            })
            .collect();
        SubmitPlan {
            delay,
            hang,
            notice_before_response,
            instructions,
        }
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_quiet() {
            return f.write_str("none");
        }
        write!(
            f,
            "latency {} ms + jitter ≤{} ms, timeouts {} (hang {} ms), rejections {}, duplicate notices {}, notice reorder ≤{} ms, notice before response {}, crash every {}, seed {}",
            self.latency_ms,
            self.jitter_ms,
            self.timeout_rate,
            self.hang_ms,
            self.reject_rate,
            self.duplicate_notice_rate,
            self.reorder_notices_ms,
            self.notice_before_response_rate,
            self.crash_every
                .map_or_else(|| "never".to_owned(), |n| format!("{n} executions")),
            self.seed
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn quiet_faults_plan_nothing() {
        let f = Faults::default();
        assert!(f.is_quiet());
        assert_eq!(f.to_string(), "none");
        let mut dice = Dice::new(1);
        let p = f.plan_submit(&mut dice, 3);
        assert_eq!(p.delay, Duration::ZERO);
        assert_eq!(p.hang, None);
        assert!(!p.notice_before_response);
        assert!(
            p.instructions
                .iter()
                .all(|i| !i.reject && i.notice == NoticePlan::default())
        );
    }

    #[test]
    fn plans_follow_the_rates_and_are_deterministic() {
        let f = Faults {
            latency_ms: 10,
            jitter_ms: 5,
            timeout_rate: Percent::ALWAYS,
            hang_ms: 7,
            reject_rate: Percent::new(50).unwrap(),
            duplicate_notice_rate: Percent::ALWAYS,
            reorder_notices_ms: 20,
            notice_before_response_rate: Percent::ALWAYS,
            crash_every: Some(3),
            seed: 42,
        };
        let mut a = Dice::new(f.seed);
        let mut b = Dice::new(f.seed);
        let mut before = 0;
        let mut after = 0;
        let mut rejected = 0;
        for _ in 0..200 {
            let p = f.plan_submit(&mut a, 5);
            assert_eq!(p, f.plan_submit(&mut b, 5), "same seed, same plan");
            assert!((10..=15).contains(&p.delay.as_millis()));
            assert!(p.notice_before_response);
            match p.hang {
                Some(Hang::Before(d)) => {
                    before += 1;
                    assert_eq!(d, Duration::from_millis(7));
                }
                Some(Hang::After(_)) => after += 1,
                None => panic!("timeout rate 100 always hangs"),
            }
            for i in &p.instructions {
                assert!(i.notice.duplicate);
                assert!(i.notice.delay <= Duration::from_millis(20));
                rejected += usize::from(i.reject);
            }
        }
        assert!(before > 60 && after > 60, "{before} before, {after} after");
        assert!(
            (300..700).contains(&rejected),
            "{rejected} of 1000 rejected"
        );
        assert!(f.to_string().contains("crash every 3 executions"));
    }
}
