//! Parsing ECG5000 from text versus reading the same data set from the Arrow IPC cache.
//!
//! Uses `$MF_DATA_DIR/ECG5000` when present, else writes a generated set of the same size
//! (500 + 4500 series of 140 values, UCR `.tsv`) to a temporary directory.

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use mf_data::{load_dataset, read_ipc, write_ipc};
use rand::{Rng, SeedableRng};

fn data_dir(tmp: &tempfile::TempDir) -> PathBuf {
    if let Some(d) = std::env::var_os("MF_DATA_DIR").map(PathBuf::from) {
        if d.join("ECG5000").is_dir() {
            return d;
        }
    }
    eprintln!("ECG5000 not under MF_DATA_DIR: benchmarking a generated set of the same size");
    let dir = tmp.path().join("ECG5000");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for (split, n) in [("TRAIN", 500), ("TEST", 4500)] {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(dir.join(format!("ECG5000_{split}.tsv"))).unwrap(),
        );
        for _ in 0..n {
            write!(f, "{}", rng.random_range(1..=5)).unwrap();
            for _ in 0..140 {
                write!(f, "\t{:.8}", rng.random_range(-4.0..4.0)).unwrap();
            }
            writeln!(f).unwrap();
        }
    }
    tmp.path().to_path_buf()
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir(&tmp);
    let d = load_dataset(&dir, "ECG5000").unwrap();
    let cache = tmp.path().join("ECG5000.arrow");
    write_ipc(&d, &cache).unwrap();
    let mut g = c.benchmark_group("ecg5000");
    g.sample_size(20);
    g.bench_function("parse_text", |b| {
        b.iter(|| black_box(load_dataset(&dir, "ECG5000").unwrap()))
    });
    g.bench_function("read_ipc", |b| {
        b.iter(|| black_box(read_ipc(&cache).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
