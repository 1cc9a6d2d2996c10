//! Fault injection: what can go wrong between the centre and the provider, on demand.
//!
//! * `latency_ms`: every `/authorize` and `/token` answer is delayed (a client whose
//!   timeout is shorter gives up: [`IdpError::Unavailable`](anju_app::identity::IdpError));
//! * `fail_rate` %: a `/token` request (well-formed, from the registered client) is
//!   answered `500 server_error` or `503 temporarily_unavailable`, by the dice, before its
//!   code is looked at (so the code stays good); `status_500`: every one is a `500`;
//! * `malformed`: every `/token` answer is a `200` with garbage, cycling through
//!   [`Malformed`]'s kinds (the code is used up);
//! * `bad_signature`: ID tokens are signed with another key;
//! * `expired_tokens`: ID tokens expired an hour ago.
//!
//! The dice are seeded, so the same requests in the same order meet the same faults.

use std::fmt;
use std::time::Duration;

use anju_exchange::sim::Prng;
pub use anju_exchange::sim::faults::Percent;

/// The fault-injection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// Added to every `/authorize` and `/token` answer, ms.
    pub latency_ms: u64,
    /// Chance of a `500` / `503` from `/token`.
    pub fail_rate: Percent,
    /// Every `/token` request answered `500`.
    pub status_500: bool,
    /// Every `/token` answer is garbage.
    pub malformed: bool,
    /// ID tokens signed with the wrong key.
    pub bad_signature: bool,
    /// ID tokens already expired.
    pub expired_tokens: bool,
    /// Seed of the dice.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency_ms: 0,
            fail_rate: Percent::ZERO,
            status_500: false,
            malformed: false,
            bad_signature: false,
            expired_tokens: false,
            seed: 1,
        }
    }
}

/// A kind of garbage token answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Malformed {
    /// An HTML page from a proxy.
    NotJson,
    /// The right answer cut in the middle.
    Truncated,
    /// JSON whose `id_token` is not a compact JWS.
    NotAToken,
    /// A properly signed token whose payload is not the claims.
    WrongClaims,
}

impl Malformed {
    /// Every kind, in the order they take turns.
    pub const ALL: [Malformed; 4] = [
        Malformed::NotJson,
        Malformed::Truncated,
        Malformed::NotAToken,
        Malformed::WrongClaims,
    ];
}

/// How a token request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Properly.
    Answer,
    /// With this 5xx status.
    Error(u16),
    /// With a 200 carrying garbage.
    Malformed(Malformed),
}

/// The seeded dice and the turn of the garbage kinds.
#[derive(Debug, Clone)]
pub struct Dice {
    rng: Prng,
    turn: usize,
}

impl Dice {
    /// Dice from a seed.
    pub fn new(seed: u64) -> Dice {
        Dice {
            rng: Prng::new(seed),
            turn: 0,
        }
    }
}

impl Faults {
    /// The delay of every answer.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }

    /// Whether no fault is configured.
    pub fn is_quiet(&self) -> bool {
        *self
            == Faults {
                seed: self.seed,
                ..Faults::default()
            }
    }

    /// Rolls the dice for one token request.
    pub fn token_outcome(&self, dice: &mut Dice) -> Outcome {
        if self.status_500 {
            return Outcome::Error(500);
        }
        if dice.rng.percent(u32::from(self.fail_rate.get())) {
            return Outcome::Error(if dice.rng.percent(50) { 500 } else { 503 });
        }
        if self.malformed {
            let kind = Malformed::ALL[dice.turn % Malformed::ALL.len()];
            dice.turn = dice.turn.wrapping_add(1);
            return Outcome::Malformed(kind);
        }
        Outcome::Answer
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_quiet() {
            return f.write_str("none");
        }
        write!(
            f,
            "latency {} ms, token failures {}{}{}{}{}, seed {}",
            self.latency_ms,
            self.fail_rate,
            if self.status_500 { ", always 500" } else { "" },
            if self.malformed {
                ", malformed answers"
            } else {
                ""
            },
            if self.bad_signature {
                ", bad signatures"
            } else {
                ""
            },
            if self.expired_tokens {
                ", expired tokens"
            } else {
                ""
            },
            self.seed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_settings() {
        let mut dice = Dice::new(5);
        let quiet = Faults::default();
        assert!(quiet.is_quiet());
        assert_eq!(quiet.to_string(), "none");
        assert!((0..50).all(|_| quiet.token_outcome(&mut dice) == Outcome::Answer));
        let always = Faults {
            fail_rate: Percent::ALWAYS,
            ..Faults::default()
        };
        assert!(
            (0..50).all(|_| matches!(always.token_outcome(&mut dice), Outcome::Error(500 | 503)))
        );
        let five = Faults {
            status_500: true,
            ..Faults::default()
        };
        assert_eq!(five.token_outcome(&mut dice), Outcome::Error(500));
        let garbage = Faults {
            malformed: true,
            ..Faults::default()
        };
        let kinds: Vec<_> = (0..4).map(|_| garbage.token_outcome(&mut dice)).collect();
        assert_eq!(kinds, Malformed::ALL.map(Outcome::Malformed).to_vec());
        assert!(garbage.to_string().contains("malformed"));
    }
}
