//! Hardware-aware training gives the same model on one thread and on two. The thread count of the whole-batch
//! recurrence is read from `RAYON_NUM_THREADS`, so each count runs in a child process of this test binary.

use std::process::Command;
use std::sync::atomic::AtomicBool;

use mf_core::rng::rng_from_seed;
use mf_core::{MfCell, Sequences, Targets};
use mf_rnn::{train_with, CellKind, Hardware, RnnConfig};
use ndarray::Array3;
use rand::Rng;

/// Set in the child processes, which print the fingerprint instead of comparing.
const CHILD: &str = "MF_RNN_HARDWARE_THREADS_CHILD";
const NAME: &str = "training_with_injected_noise_is_the_same_on_one_and_two_threads";

/// Every bit of the trained and deployed weights and of the loss history of a model trained with injected weight
/// noise, on batches of 64 rows (two chunks of 32, so two threads share each batch).
fn fingerprint() -> String {
    let mut rng = rng_from_seed(4);
    let n = 96;
    let x = Array3::from_shape_fn((n, 12, 1), |(i, _, _)| {
        (i % 2) as f32 * 2.0 - 1.0 + rng.random_range(-0.5f32..0.5)
    });
    let lengths = (0..n).map(|i| 6 + i % 7).collect();
    let seq = Sequences::new(x, lengths).unwrap();
    let y = Targets::Classes {
        labels: (0..n).map(|i| i % 2).collect(),
        n_classes: 2,
    };
    let mut c = RnnConfig::new(CellKind::Mf(MfCell::new(0.1, 0.8, 5.0)))
        .n_units(8)
        .lr(0.02)
        .seed(6)
        .max_epochs(3);
    c.train_w_noise = 0.2;
    c.hardware = Hardware {
        w_noise: 0.1,
        ..Hardware::default()
    };
    let m = train_with(&c, (&seq, &y), None, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let mut bits: Vec<u64> = m.history().iter().map(|e| e.train_loss.to_bits()).collect();
    for w in [m.trained_weights().unwrap(), m.weights().unwrap()] {
        for a in [&w.layer.w_in, &w.layer.w_rec, &w.readout_weight] {
            bits.extend(a.iter().map(|v| u64::from(v.to_bits())));
        }
    }
    bits.extend(
        m.outputs(&seq)
            .unwrap()
            .iter()
            .map(|v| u64::from(v.to_bits())),
    );
    bits.iter()
        .map(|b| format!("{b:x}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn training_with_injected_noise_is_the_same_on_one_and_two_threads() {
    if std::env::var_os(CHILD).is_some() {
        println!("fingerprint {}", fingerprint());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let run = |threads: &str| -> String {
        let out = Command::new(&exe)
            .args([NAME, "--exact", "--nocapture", "--test-threads", "1"])
            .env(CHILD, "1")
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            // libtest writes `test NAME ... ` before what the test prints, on the same line.
            .find_map(|l| l.split_once("fingerprint ").map(|(_, f)| f.to_string()))
            .expect("the child prints its fingerprint")
    };
    let one = run("1");
    assert!(one.split(',').count() > 100, "{one}");
    assert_eq!(one, run("2"));
    assert_eq!(one, fingerprint());
}
