//! The memory a job may use, so that a configuration too large for the machine is refused before anything is
//! allocated: a failed allocation aborts the whole process (a sweep with it), where a refusal fails one job.

use std::path::Path;

use crate::models::DataShape;
use crate::LabError;

/// The limit used where the available memory cannot be read (no `/proc/meminfo`): 64 GiB.
pub const FALLBACK_BYTES: u64 = 64 << 30;

/// How much memory a job may use, and where that number comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    /// Bytes.
    pub bytes: u64,
    /// Where the number comes from, for messages (`MemAvailable in /proc/meminfo`).
    pub from: String,
}

impl Available {
    /// The memory available now: `MemAvailable` of `/proc/meminfo`, lowered to the room left under a cgroup v2
    /// limit (`memory.max - memory.current`, as in a container), else [`FALLBACK_BYTES`].
    pub fn now() -> Available {
        let read = |p: &str| std::fs::read_to_string(Path::new(p)).ok();
        let meminfo = read("/proc/meminfo").and_then(|t| meminfo_available(&t));
        let cgroup = match (
            read("/sys/fs/cgroup/memory.max"),
            read("/sys/fs/cgroup/memory.current"),
        ) {
            (Some(max), Some(current)) => cgroup_room(&max, &current),
            _ => None,
        };
        match (meminfo, cgroup) {
            (Some(m), Some(c)) if c < m => Available {
                bytes: c,
                from: "the cgroup limit memory.max".into(),
            },
            (Some(m), _) => Available {
                bytes: m,
                from: "MemAvailable in /proc/meminfo".into(),
            },
            (None, Some(c)) => Available {
                bytes: c,
                from: "the cgroup limit memory.max".into(),
            },
            (None, None) => Available {
                bytes: FALLBACK_BYTES,
                from: "a fixed limit, as this system does not report its free memory".into(),
            },
        }
    }
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn meminfo_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// The room left under a cgroup v2 limit: None without a limit (`max`).
fn cgroup_room(max: &str, current: &str) -> Option<u64> {
    let max: u64 = max.trim().parse().ok()?;
    let current: u64 = current.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

/// Fails with [`LabError::TooLarge`] when `need` bytes exceed `available`.
pub fn check(need: u64, available: &Available, shape: &DataShape) -> Result<(), LabError> {
    if need <= available.bytes {
        return Ok(());
    }
    Err(LabError::TooLarge {
        need,
        available: available.bytes,
        from: available.from.clone(),
        n_series: shape.n_series,
        max_len: shape.max_len,
    })
}

/// The most trials, draws or repetitions one request may ask for. Each is a fresh model, so even the smallest
/// takes hours at this count, and a number typed with too many zeros (`--trials 100000000000`) would otherwise
/// reserve its seeds and scores before the first trial and abort the process.
pub const MAX_REPEATS: usize = 100_000;

/// Fails unless `n` (`what`: `--trials`, `draws`) is from 1 to [`MAX_REPEATS`].
pub fn check_repeats(what: &str, n: usize) -> Result<(), LabError> {
    if (1..=MAX_REPEATS).contains(&n) {
        return Ok(());
    }
    Err(LabError::InvalidParams(format!(
        "{what} must be from 1 to {MAX_REPEATS}, not {n} (each is a fresh model)"
    )))
}

/// Fails with an error naming `what` when `need` bytes exceed the memory available now: for work outside a
/// trial (`mf stability`'s reservoir), which would otherwise abort on a failed allocation.
pub fn check_bytes(what: &str, need: u64) -> Result<(), LabError> {
    let available = Available::now();
    if need <= available.bytes {
        return Ok(());
    }
    Err(LabError::InvalidParams(format!(
        "{what} needs about {} of memory, more than the {} available ({})",
        bytes_text(need),
        bytes_text(available.bytes),
        available.from
    )))
}

/// A size as people read it: `812.0 MiB`, `74.5 GiB`.
pub fn bytes_text(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.1} MiB", b / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_available_memory_is_read_from_meminfo_and_cgroups() {
        let text = "MemTotal:       24000000 kB\nMemFree:  1 kB\nMemAvailable:   21000000 kB\n";
        assert_eq!(meminfo_available(text), Some(21_000_000 * 1024));
        assert_eq!(meminfo_available("MemTotal: 5 kB\n"), None);
        assert_eq!(cgroup_room("max\n", "100\n"), None);
        assert_eq!(cgroup_room("1000\n", "300\n"), Some(700));
        assert_eq!(cgroup_room("1000\n", "3000\n"), Some(0));
        let now = Available::now();
        assert!(now.bytes > 0 && !now.from.is_empty(), "{now:?}");
    }

    #[test]
    fn a_need_above_the_available_memory_is_refused_in_words() {
        let shape = DataShape {
            n_series: 300,
            n_eval: 300,
            max_len: 60,
            n_inputs: 1,
            n_outputs: 6,
        };
        let avail = Available {
            bytes: 16 << 30,
            from: "MemAvailable in /proc/meminfo".into(),
        };
        assert!(check(16 << 30, &avail, &shape).is_ok());
        let e = check(80_000_000_000, &avail, &shape).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the configuration needs about 74.5 GiB of memory for 300 series of up to 60 steps, more than the \
             16.0 GiB available (MemAvailable in /proc/meminfo); lower n_units"
        );
        assert_eq!(bytes_text(3 << 20), "3.0 MiB");
    }
}
