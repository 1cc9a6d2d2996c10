//! Group commit on the one writer connection.
//!
//! SQLite has one writer, and every durable commit costs a WAL write and an `fsync`
//! (`synchronous=FULL`). When several threads commit small transactions at once, each
//! paying its own `fsync` serialises them on the disk. Here a transaction's `commit`
//! makes its writes part of a **batch** — one SQLite transaction holding the writes of
//! several logical transactions, each of which ran alone on the connection (under a
//! `SAVEPOINT` when it is not the batch's first, so it can still roll back alone) — and
//! returns only once the batch is durable. The batch is committed (one `fsync`) by the
//! last logical transaction to finish while nobody waits for the connection, or once it
//! holds [`MAX_BATCH`] transactions or its first commit has waited [`MAX_WAIT`].
//!
//! What callers see is unchanged: `commit` returns `Ok` only when the transaction's
//! writes are durable, and an error when they are not (then nothing of it is kept, and
//! the other transactions of its batch get the same error). Logical transactions run one
//! after another with the write lock held throughout, so each sees the writes of those
//! before it in the batch — which become durable together with its own, or not at all.
//! The reader connection sees a batch only once it is committed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Most logical transactions in one batch.
pub const MAX_BATCH: usize = 64;
/// Longest a batch's first commit waits for others to join before it is committed.
pub const MAX_WAIT: Duration = Duration::from_millis(2);

/// The open batch of the writer connection (kept with the connection, under its mutex).
#[derive(Debug)]
pub struct Batch {
    /// Its number.
    pub epoch: u64,
    /// Logical transactions committed into it so far.
    pub members: usize,
    /// When its first member committed.
    pub since: Instant,
}

impl Batch {
    /// Whether it must be committed now rather than wait for others.
    pub fn full(&self) -> bool {
        self.members >= MAX_BATCH || self.since.elapsed() >= MAX_WAIT
    }
}

#[derive(Debug, Default)]
struct Settled {
    /// Every batch up to this number has been committed or has failed.
    done: u64,
    /// Batches that failed, with why (kept until their members have read it).
    failed: BTreeMap<u64, (String, usize)>,
}

/// What threads share about batches: who waits for the connection, which batches are
/// settled.
#[derive(Debug, Default)]
pub struct Group {
    /// Threads waiting for the writer connection in `begin`.
    pub waiting: AtomicUsize,
    next_epoch: AtomicU64,
    settled: Mutex<Settled>,
    cvar: Condvar,
    /// SQLite transactions committed (batches), for tests and benchmarks.
    pub commits: AtomicU64,
    /// Logical transactions committed.
    pub members: AtomicU64,
}

impl Group {
    /// A number for a new batch.
    pub fn next_epoch(&self) -> u64 {
        self.next_epoch.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Records that batch `epoch` of `members` transactions is committed (`Ok`) or lost,
    /// and wakes its members waiting in [`Group::wait`] (all but one when `by_member`:
    /// the member settling it is told directly).
    pub fn settle(&self, epoch: u64, members: usize, by_member: bool, outcome: Result<(), String>) {
        let mut s = self.settled.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(why) = outcome {
            let waiting = members - usize::from(by_member && members > 0);
            if waiting > 0 {
                s.failed.insert(epoch, (why, waiting));
            }
        } else {
            self.commits.fetch_add(1, Ordering::Relaxed);
            self.members.fetch_add(members as u64, Ordering::Relaxed);
        }
        s.done = s.done.max(epoch);
        drop(s);
        self.cvar.notify_all();
    }

    /// Waits until batch `epoch` is settled; its outcome.
    pub fn wait(&self, epoch: u64) -> Result<(), String> {
        let mut s = self.settled.lock().unwrap_or_else(PoisonError::into_inner);
        while s.done < epoch {
            s = self.cvar.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        let Some((why, left)) = s.failed.get_mut(&epoch) else {
            return Ok(());
        };
        let why = why.clone();
        *left -= 1;
        if *left == 0 {
            s.failed.remove(&epoch);
        }
        Err(why)
    }
}
