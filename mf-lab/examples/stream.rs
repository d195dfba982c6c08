//! A trained model used sample by sample: fit MF-ESN on the generated synthetic-control set, save it, load it
//! back, then feed test series to a stream one time step at a time and compare each series' final prediction
//! with the batch prediction of the whole test split.
//!
//! ```sh
//! cargo run --release -p mf-lab --example stream
//! ```

use std::error::Error;
use std::path::Path;

use mf_lab::models::CancelToken;
use mf_lab::saved::{Predictions, SavedModel};
use mf_lab::single::ModelRequest;
use mf_lab::tasks::{load_dataset, Task};
use mf_lab::{ModelKind, Params};

fn main() -> Result<(), Box<dyn Error>> {
    // Generated in memory: no data directory is read.
    let task = Task::from_dataset(&load_dataset(Path::new("."), "synthetic-control")?)?;
    let request = ModelRequest {
        model: ModelKind::MfEsn,
        dataset: "synthetic-control".into(),
        preset: false,
        set: Params::new(),
        seed: 1,
        protocol: Default::default(),
        normalise: Default::default(),
    };
    let fitted = SavedModel::fit(&request, &task, &|_| {}, &CancelToken::new())?;
    let dir = std::env::temp_dir().join(format!("mf-stream-example-{}", std::process::id()));
    fitted.save(&dir)?;
    let model = SavedModel::load(&dir)?;
    let classes = &model.description().classes;
    println!(
        "{} fitted on {}, test accuracy {:.4}, saved to {}",
        model.description().model,
        model.description().dataset,
        model.description().test_score.unwrap_or(f64::NAN),
        dir.display()
    );

    let test = task.test()?;
    let Predictions::Classes {
        classes: batch,
        scores: batch_scores,
    } = model.predict(&test.seqs)?
    else {
        unreachable!("synthetic-control is a classification set")
    };
    let mut stream = model.stream()?;
    let mut largest_difference = 0.0f64;
    for i in [0, 50, 100, 150, 200, 250] {
        stream.reset();
        let mut line = format!("series {i:>3}:");
        for sample in test.seqs.series(i).rows() {
            stream.push(sample.as_slice().expect("a row of the series"))?;
            if stream.steps() % 15 == 0 {
                let Predictions::Classes { classes: c, .. } = stream.predict() else {
                    unreachable!()
                };
                line += &format!(" step {} -> {}", stream.steps(), classes[c[0]]);
            }
        }
        let Predictions::Classes { classes: c, scores } = stream.predict() else {
            unreachable!()
        };
        for (a, b) in scores.row(0).iter().zip(batch_scores.row(i)) {
            largest_difference = largest_difference.max((a - b).abs());
        }
        println!(
            "{line}; streamed {}, batch {}",
            classes[c[0]], classes[batch[i]]
        );
        if c[0] != batch[i] {
            return Err(format!("series {i}: the stream and the batch disagree").into());
        }
    }
    println!("largest score difference between stream and batch: {largest_difference:.2e} (f32 rounding)");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
