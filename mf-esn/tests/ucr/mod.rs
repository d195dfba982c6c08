//! The paper's data sets through mf-data, as mf-core sequences and targets, for real-data checks and examples.

use std::path::Path;

use mf_core::{Sequences, Targets};
use mf_data::{Dataset, FillMissing, TaskKind};
use ndarray::Array2;

/// One split of a data set.
#[derive(Debug)]
pub struct Split {
    /// The series, `(n_series, max_len, n_inputs)` with their lengths (zeros after each series' end).
    pub seqs: Sequences,
    /// Class indices (classes in sorted order of their labels) or real targets `(n_series, 1)`.
    pub targets: Targets,
}

fn convert(ds: &Dataset, split: &mf_data::Split) -> Split {
    let split = split.fill_missing(FillMissing::Linear);
    let (mut x, lengths) = split.to_ndarray();
    x.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
    let targets = match ds.task() {
        TaskKind::Classification { classes } => Targets::Classes {
            labels: ds.encoded_labels(&split).expect("labels in the class list"),
            n_classes: classes.len(),
        },
        TaskKind::Regression => {
            let t = split.targets().expect("regression targets");
            Targets::Values(Array2::from_shape_vec((t.len(), 1), t).expect("one column"))
        }
    };
    Split {
        seqs: Sequences::new(x, lengths).expect("lengths within the array"),
        targets,
    }
}

/// Loads `<dir>/<name>/<name>_{TRAIN,TEST}.*`; `None` when the training or test file is absent. The task kind
/// comes from the files; `regression` states what the caller expects and is checked.
pub fn load(dir: &Path, name: &str, regression: bool) -> Option<(Split, Split)> {
    mf_data::find_split_file(dir, name, "TRAIN")?;
    let ds = mf_data::load_dataset(dir, name)
        .unwrap_or_else(|e| panic!("{name} is present but does not load: {e}"));
    assert_eq!(
        matches!(ds.task(), TaskKind::Regression),
        regression,
        "{name}: unexpected task kind"
    );
    let test = ds.test.as_ref()?;
    Some((convert(&ds, &ds.train), convert(&ds, test)))
}
