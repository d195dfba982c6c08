//! Table IV for the reservoir models: the paper's presets (Tables V and VII), 5 fresh reservoirs per model,
//! our mean +- population std next to the paper's.
//!
//! `MF_DATA_DIR=/path/to/datasets cargo run --release -p mf-esn --example paper_table [names...]`

#[path = "../tests/ucr/mod.rs"]
mod ucr;

use std::path::PathBuf;
use std::time::Instant;

use mf_esn::presets;
use mf_esn::run_trials;

fn main() {
    let dir = PathBuf::from(
        std::env::var("MF_DATA_DIR").unwrap_or_else(|_| "/work/shared/datasets".into()),
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<&str> = mf_paper::dataset_names()
        .filter(|n| args.is_empty() || args.iter().any(|a| a == n))
        .collect();
    let seed = 2025;
    println!("| data set | metric | ESN ours | ESN paper | MF-ESN ours | MF-ESN paper | time |");
    println!("|---|---|---|---|---|---|---|");
    for name in names {
        let regression = presets::is_regression(name);
        let Some((train, test)) = ucr::load(&dir, name, regression) else {
            println!("| {name} | - | data absent | | | | |");
            continue;
        };
        let start = Instant::now();
        let (paper_esn, paper_mf) = presets::paper_scores(name).unwrap();
        let mut cells = Vec::new();
        for (cfg, paper) in [
            (presets::esn(name).unwrap(), paper_esn),
            (presets::mf_esn(name).unwrap(), paper_mf),
        ] {
            let ours = match run_trials(
                &cfg,
                &train.seqs,
                &train.targets,
                &test.seqs,
                &test.targets,
                5,
                seed,
            ) {
                Ok(r) => format!("{:.3} +- {:.3}", r.mean, r.std),
                Err(e) => format!("error: {e}"),
            };
            cells.push(ours);
            cells.push(format!("{:.3} +- {:.3}", paper.mean, paper.std));
        }
        let metric = if regression { "RMSE" } else { "acc" };
        println!(
            "| {name} | {metric} | {} | {:.1} s |",
            cells.join(" | "),
            start.elapsed().as_secs_f64()
        );
    }
}
