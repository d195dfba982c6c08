//! Seeded, portable random number generation.
//!
//! Every random draw of the workspace flows from a user seed through [`rng_from_seed`]; independent streams (trial
//! `i`, the validation split, ...) are obtained with [`derive_seed`] so that adding a trial never changes the others.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator used everywhere: ChaCha8, whose output is fixed by its specification (portable across platforms
/// and crate versions, unlike `StdRng`).
pub type Rng = ChaCha8Rng;

/// A generator seeded from `seed`.
pub fn rng_from_seed(seed: u64) -> Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A seed for the independent stream `stream` of `seed` (SplitMix64 finaliser over both words).
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed
        ^ stream
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn same_seed_gives_same_stream() {
        let a: Vec<u32> = (0..8)
            .map({
                let mut r = rng_from_seed(7);
                move |_| r.random()
            })
            .collect();
        let b: Vec<u32> = (0..8)
            .map({
                let mut r = rng_from_seed(7);
                move |_| r.random()
            })
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn derived_streams_differ_from_each_other_and_the_parent() {
        let s: Vec<u64> = (0..100).map(|i| derive_seed(42, i)).collect();
        let mut sorted = s.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), s.len());
        assert!(!s.contains(&42));
    }
}
