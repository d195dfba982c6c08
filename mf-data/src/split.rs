//! Seeded fit/validation splits of a training set: 80% fit, 20% validation (paper Sec. VI), stratified
//! for classification and a plain shuffle for regression as in the authors' reference implementation
//! (the paper does not say how it splits).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Number of validation items out of `n`: `round(n * fraction_val)` (halves away from zero),
/// then clamped so that a group of two or more items keeps at least one item on each side when
/// `0 < fraction_val < 1`. A non-finite fraction is treated as 0 and the fraction is clamped to
/// `[0, 1]`.
fn n_val(n: usize, fraction_val: f64) -> usize {
    let f = if fraction_val.is_finite() {
        fraction_val.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut k = (n as f64 * f).round() as usize;
    if n >= 2 && f > 0.0 && f < 1.0 {
        k = k.clamp(1, n - 1);
    }
    k.min(n)
}

/// Splits `labels.len()` items into (fit, validation) index lists, each class separately: the
/// items of a class are shuffled and the first `round(n_class * fraction_val)` go to validation
/// (halves rounded away from zero; a class of two or more items keeps at least one item on each
/// side when `0 < fraction_val < 1`; the fraction is clamped to `[0, 1]`, NaN read as 0). Classes are visited in
/// increasing label order with one `ChaCha8Rng::seed_from_u64(seed)` stream, so the result depends
/// only on the labels and the seed. Both lists are returned sorted ascending.
pub fn stratified_split(
    labels: &[usize],
    fraction_val: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l].push(i);
    }
    let (mut fit, mut val) = (Vec::new(), Vec::new());
    for mut idx in by_class {
        idx.shuffle(&mut rng);
        let k = n_val(idx.len(), fraction_val);
        val.extend_from_slice(&idx[..k]);
        fit.extend_from_slice(&idx[k..]);
    }
    fit.sort_unstable();
    val.sort_unstable();
    (fit, val)
}

/// Splits `0..n` into (fit, validation) index lists after a seeded shuffle
/// (`ChaCha8Rng::seed_from_u64(seed)`); validation gets `round(n * fraction_val)` items (clamped
/// as for [`stratified_split`]). Both lists are returned sorted ascending.
pub fn shuffle_split(n: usize, fraction_val: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    let k = n_val(n, fraction_val);
    let mut val = idx[..k].to_vec();
    let mut fit = idx[k..].to_vec();
    fit.sort_unstable();
    val.sort_unstable();
    (fit, val)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(labels: &[usize], idx: &[usize], c: usize) -> usize {
        idx.iter().filter(|&&i| labels[i] == c).count()
    }

    #[test]
    fn each_class_is_split_eighty_twenty_with_rounding() {
        // Class sizes 50, 7, 3, 1: validation rounds 10, 1.4 -> 1, 0.6 -> 1, 0.2 -> 0.
        let mut labels = vec![0; 50];
        labels.extend(vec![1; 7]);
        labels.extend(vec![2; 3]);
        labels.push(3);
        let (fit, val) = stratified_split(&labels, 0.2, 7);
        for (c, want) in [(0, 10), (1, 1), (2, 1), (3, 0)] {
            assert_eq!(count(&labels, &val, c), want, "class {c}");
        }
        assert_eq!(fit.len() + val.len(), labels.len());
        let mut all: Vec<usize> = fit.iter().chain(&val).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
    }

    #[test]
    fn splits_are_deterministic_per_seed_and_differ_between_seeds() {
        let labels: Vec<usize> = (0..200).map(|i| i % 4).collect();
        assert_eq!(
            stratified_split(&labels, 0.2, 3),
            stratified_split(&labels, 0.2, 3)
        );
        assert_ne!(
            stratified_split(&labels, 0.2, 3),
            stratified_split(&labels, 0.2, 4)
        );
        assert_eq!(shuffle_split(100, 0.2, 9), shuffle_split(100, 0.2, 9));
        assert_ne!(shuffle_split(100, 0.2, 9), shuffle_split(100, 0.2, 10));
    }

    #[test]
    fn shuffle_split_partitions_all_indices() {
        let (fit, val) = shuffle_split(471, 0.2, 1);
        assert_eq!(val.len(), 94); // round(94.2)
        let mut all: Vec<usize> = fit.iter().chain(&val).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..471).collect::<Vec<_>>());
    }

    #[test]
    fn degenerate_fractions_do_not_panic() {
        assert_eq!(shuffle_split(10, f64::NAN, 0).1.len(), 0);
        assert_eq!(shuffle_split(10, 2.0, 0).1.len(), 10);
        assert_eq!(shuffle_split(0, 0.2, 0), (vec![], vec![]));
        assert_eq!(stratified_split(&[], 0.2, 0), (vec![], vec![]));
    }
}
