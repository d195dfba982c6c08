//! How many threads one piece of work may start.
//!
//! The harvest splits large batches over threads ([`crate::harvest::HarvestOptions::threads`], 0 = "as many as
//! allowed"). A sweep runs several jobs at once, one per worker thread; if each job's harvest also took every core,
//! a 2-core machine running 2 workers would run 4 busy threads and lose time to switching and cache thrash. A
//! worker therefore sets its share of the cores with [`with_budget`], and "as many as allowed" means that share
//! inside it. Results never depend on it: the harvest is bit-identical on any thread count.

use std::cell::Cell;

thread_local! {
    static BUDGET: Cell<usize> = const { Cell::new(0) };
}

/// The threads that work started on this thread may use: the budget set by the innermost [`with_budget`] around
/// the caller, else every core available to the process (at least 1).
pub fn available() -> usize {
    match BUDGET.with(Cell::get) {
        0 => cores(),
        n => n,
    }
}

/// Every core available to the process (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `f` with [`available`] returning `threads` (at least 1) on this thread, restoring the previous budget
/// afterwards, also when `f` panics.
pub fn with_budget<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUDGET.with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(BUDGET.with(|b| b.replace(threads.max(1))));
    f()
}

/// The share of the cores each of `workers` concurrent workers gets: `cores / workers`, at least 1.
pub fn share(workers: usize) -> usize {
    (cores() / workers.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_applies_inside_and_is_restored_after_even_on_panic() {
        assert_eq!(available(), cores());
        let inner = with_budget(1, || (available(), with_budget(3, available), available()));
        assert_eq!(inner, (1, 3, 1));
        assert_eq!(available(), cores());
        let r = std::panic::catch_unwind(|| with_budget(5, || panic!("boom")));
        assert!(r.is_err());
        assert_eq!(available(), cores());
        // Zero means one thread, not "every core".
        assert_eq!(with_budget(0, available), 1);
        // The budget is per thread: another thread sees every core.
        let other = with_budget(1, || std::thread::spawn(available).join().unwrap());
        assert_eq!(other, cores());
    }

    #[test]
    fn shares_divide_the_cores_and_never_reach_zero() {
        assert_eq!(share(1), cores());
        assert_eq!(share(0), cores());
        assert_eq!(share(usize::MAX), 1);
        assert!(share(2) * 2 <= cores().max(2));
    }
}
