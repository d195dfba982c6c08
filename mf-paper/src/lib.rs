//! The published facts of Pistolesi, Ceni, Milano, Ricciardi and Gallicchio, "Memristive-friendly recurrent
//! networks", APL Machine Learning 3, 016117 (2025): its ten data sets (Table I), the grids it searched
//! (Table III), its test scores (Table IV) and the hyper-parameters it selected (Tables V-VIII).
//!
//! This crate depends on nothing, so that every crate of the workspace, `mf-data` included, takes these facts
//! from one place. Data-set names are matched by one rule, [`normalise`]: `SyntheticControl`,
//! `synthetic-control` and `synthetic_control` all name the same row.
//!
//! Values are transcribed from the paper's text. Table IV's regression standard deviations printed as `± 0.000`
//! are kept as 0.0. Table VII gives ω = 2 for ESN on FloodModeling2, a value outside the Table III grid; it is
//! kept as printed.

#![forbid(unsafe_code)]

/// The four models of the paper (Sec. VI), in the column order of Table IV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// Leaky echo state network baseline.
    Esn,
    /// Memristive-friendly echo state network.
    MfEsn,
    /// Fully trained tanh recurrent network baseline.
    Rnn,
    /// Memristive-friendly recurrent network trained end to end.
    MfRnn,
}

impl Model {
    /// All four, in the column order of Table IV.
    pub const ALL: [Model; 4] = [Model::Esn, Model::MfEsn, Model::Rnn, Model::MfRnn];

    fn column(self) -> usize {
        self as usize
    }
}

/// Which archive a data set comes from (Sec. VI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    /// The UCR/UEA time-series classification archive.
    Ucr,
    /// The Monash time-series extrinsic regression archive (the flood-modelling sets).
    Tser,
}

/// One row of Table I, with the file format of the archive copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetFacts {
    /// Archive name, e.g. `ECG5000`.
    pub name: &'static str,
    /// Training series.
    pub n_train: usize,
    /// Test series.
    pub n_test: usize,
    /// Shortest series length.
    pub min_len: usize,
    /// Longest series length.
    pub max_len: usize,
    /// Number of classes; `None` for the regression sets.
    pub n_classes: Option<usize>,
    /// Input features per time step.
    pub n_dims: usize,
    /// The archive it comes from.
    pub archive: Archive,
    /// Extension of the archive's files (`ts` or `tsv`).
    pub file_ext: &'static str,
    /// Known differences between the paper and the archive copies.
    pub note: &'static str,
}

impl DatasetFacts {
    /// Whether the set is a regression task, scored by RMSE (the three flood-modelling sets).
    pub fn is_regression(&self) -> bool {
        self.n_classes.is_none()
    }
}

#[allow(clippy::too_many_arguments)]
const fn row(
    name: &'static str,
    n_train: usize,
    n_test: usize,
    min_len: usize,
    max_len: usize,
    n_classes: Option<usize>,
    n_dims: usize,
    archive: Archive,
    file_ext: &'static str,
    note: &'static str,
) -> DatasetFacts {
    DatasetFacts {
        name,
        n_train,
        n_test,
        min_len,
        max_len,
        n_classes,
        n_dims,
        archive,
        file_ext,
        note,
    }
}

/// The ten data sets of Table I, in the row order of the paper's tables.
pub const DATASETS: [DatasetFacts; 10] = {
    use Archive::{Tser, Ucr};
    [
        row(
            "JapaneseVowels",
            270,
            370,
            7,
            29,
            Some(9),
            12,
            Ucr,
            "ts",
            "variable length",
        ),
        row(
            "SyntheticControl",
            300,
            300,
            60,
            60,
            Some(6),
            1,
            Ucr,
            "tsv",
            "",
        ),
        row("ECG5000", 500, 4500, 140, 140, Some(5), 1, Ucr, "tsv", ""),
        row("GunPoint", 50, 150, 150, 150, Some(2), 1, Ucr, "ts", ""),
        row("Wafer", 1000, 6164, 152, 152, Some(2), 1, Ucr, "tsv", ""),
        row("Epilepsy", 137, 138, 206, 206, Some(4), 3, Ucr, "ts", ""),
        row("Coffee", 28, 28, 286, 286, Some(2), 1, Ucr, "tsv", ""),
        row(
            "FloodModeling1",
            471,
            202,
            266,
            266,
            None,
            1,
            Tser,
            "ts",
            "",
        ),
        row(
            "FloodModeling2",
            389,
            167,
            266,
            266,
            None,
            1,
            Tser,
            "ts",
            "the archive copy has 466/201 series",
        ),
        row(
            "FloodModeling3",
            429,
            184,
            266,
            266,
            None,
            1,
            Tser,
            "ts",
            "",
        ),
    ]
};

/// Reduces a data-set name to lowercase ASCII letters and digits: the one rule by which names are matched
/// anywhere in the workspace, so that `synthetic-control`, `SyntheticControl` and `synthetic_control` are one.
pub fn normalise(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The row of `name` in the paper's tables (matched by [`normalise`]).
pub fn row_of(name: &str) -> Option<usize> {
    let n = normalise(name);
    DATASETS.iter().position(|d| normalise(d.name) == n)
}

/// The Table I facts of `name` (matched by [`normalise`]).
pub fn dataset(name: &str) -> Option<&'static DatasetFacts> {
    row_of(name).map(|r| &DATASETS[r])
}

/// The paper's names of the ten data sets, in table order.
pub fn dataset_names() -> impl Iterator<Item = &'static str> {
    DATASETS.iter().map(|d| d.name)
}

/// A published mean and standard deviation over 5 runs (population deviation; 0 where the paper prints none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Mean over 5 runs.
    pub mean: f64,
    /// Standard deviation over 5 runs.
    pub std: f64,
}

// Rows of Table IV: ESN, MF-ESN, RNN, MF-RNN as (mean, std); accuracy, or RMSE for the flood sets.
const TABLE_IV: [[(f64, f64); 4]; 10] = [
    [
        (0.984, 0.003),
        (0.974, 0.004),
        (0.916, 0.011),
        (0.951, 0.004),
    ],
    [
        (0.893, 0.010),
        (0.950, 0.007),
        (0.799, 0.119),
        (0.927, 0.048),
    ],
    [
        (0.915, 0.002),
        (0.924, 0.002),
        (0.804, 0.247),
        (0.909, 0.004),
    ],
    [
        (0.593, 0.023),
        (0.769, 0.070),
        (0.501, 0.007),
        (0.751, 0.012),
    ],
    [
        (0.986, 0.002),
        (0.986, 0.001),
        (0.804, 0.109),
        (0.910, 0.037),
    ],
    [
        (0.868, 0.015),
        (0.961, 0.006),
        (0.448, 0.106),
        (0.884, 0.013),
    ],
    [
        (0.586, 0.029),
        (0.586, 0.017),
        (0.543, 0.014),
        (0.950, 0.029),
    ],
    [
        (0.019, 0.000),
        (0.008, 0.000),
        (0.022, 0.002),
        (0.009, 0.001),
    ],
    [
        (0.018, 0.000),
        (0.015, 0.001),
        (0.019, 0.001),
        (0.017, 0.000),
    ],
    [
        (0.023, 0.000),
        (0.010, 0.001),
        (0.027, 0.003),
        (0.010, 0.000),
    ],
];

/// Table IV: the test score of `model` on data set `name`.
pub fn table_iv(name: &str, model: Model) -> Option<Score> {
    let (mean, std) = TABLE_IV[row_of(name)?][model.column()];
    Some(Score { mean, std })
}

/// Hyper-parameter names of the selection tables, per model, in the order of their columns.
const MF_ESN_NAMES: [&str; 6] = ["omega", "beta", "rho", "gamma", "s", "dt"];
const ESN_NAMES: [&str; 4] = ["omega", "beta", "rho", "alpha"];
const MF_RNN_NAMES: [&str; 4] = ["lr", "gamma", "s", "dt"];
const RNN_NAMES: [&str; 1] = ["lr"];

// Table V (MF-ESN): omega, beta, rho, gamma, s, dt.
const TABLE_V: [[f64; 6]; 10] = [
    [1.0, 0.001, 0.8, 1.0, 5.0, 0.01],
    [1.0, 0.1, 0.99, 0.95, 5.0, 0.1],
    [1.0, 0.0, 0.9, 1.0, 5.0, 0.01],
    [1.0, 0.0, 0.99, 0.95, 5.0, 0.1],
    [1.0, 0.001, 0.95, 1.0, 5.0, 0.1],
    [1.0, 0.001, 0.9, 1.0, 1.0, 0.01],
    [10.0, 1.0, 0.9, 0.95, 5.0, 0.01],
    [0.1, 0.0, 0.8, 1.0, 5.0, 0.01],
    [0.1, 1.0, 0.95, 1.0, 5.0, 0.01],
    [0.1, 0.001, 0.95, 1.0, 5.0, 0.01],
];

// Table VI (MF-RNN): lr, gamma, s, dt.
const TABLE_VI: [[f64; 4]; 10] = [
    [0.01, 0.8, 1.0, 0.001],
    [0.001, 0.8, 5.0, 0.1],
    [0.001, 0.95, 1.0, 0.1],
    [0.001, 0.8, 5.0, 0.1],
    [0.001, 0.8, 5.0, 0.01],
    [0.001, 1.0, 5.0, 0.001],
    [0.001, 0.8, 5.0, 0.001],
    [0.001, 1.0, 5.0, 0.001],
    [0.001, 1.0, 1.0, 0.001],
    [0.001, 1.0, 1.0, 0.001],
];

// Table VII (ESN): omega, beta, rho, alpha.
const TABLE_VII: [[f64; 4]; 10] = [
    [1.0, 0.001, 0.99, 0.1],
    [1.0, 1.0, 0.99, 0.3],
    [1.0, 1.0, 0.99, 0.5],
    [10.0, 0.001, 0.95, 0.1],
    [1.0, 1.0, 0.99, 0.1],
    [1.0, 1.0, 0.9, 0.1],
    [0.1, 0.1, 0.99, 0.3],
    [1.0, 0.1, 0.99, 0.1],
    [2.0, 0.1, 0.95, 0.1],
    [1.0, 0.1, 0.99, 0.1],
];

// Table VIII (RNN): lr.
const TABLE_VIII: [f64; 10] = [
    0.001, 0.001, 0.001, 0.01, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001,
];

/// Tables V-VIII: the hyper-parameters the paper selected for `model` on data set `name`, as (name, value)
/// pairs in the table's column order, named as in [`table_iii`].
pub fn selected(name: &str, model: Model) -> Option<Vec<(&'static str, f64)>> {
    let r = row_of(name)?;
    let zip = |names: &[&'static str], values: &[f64]| {
        names.iter().copied().zip(values.iter().copied()).collect()
    };
    Some(match model {
        Model::MfEsn => zip(&MF_ESN_NAMES, &TABLE_V[r]),
        Model::MfRnn => zip(&MF_RNN_NAMES, &TABLE_VI[r]),
        Model::Esn => zip(&ESN_NAMES, &TABLE_VII[r]),
        Model::Rnn => zip(&RNN_NAMES, &[TABLE_VIII[r]]),
    })
}

/// One axis of a grid: a hyper-parameter name and its values.
pub type Axis = (&'static str, &'static [f64]);

const OMEGA: Axis = ("omega", &[0.1, 1.0, 10.0]);
const BETA: Axis = ("beta", &[0.0, 0.001, 0.1, 1.0]);
const RHO: Axis = ("rho", &[0.8, 0.9, 0.95, 0.99]);
const GAMMA: Axis = ("gamma", &[0.5, 0.8, 0.95, 1.0]);
const SLOPE: Axis = ("s", &[1.0, 5.0]);
const ALPHA: Axis = ("alpha", &[0.1, 0.3, 0.5, 0.7, 1.0]);
const LR: Axis = ("lr", &[0.001, 0.01]);

/// Table III: the grid the paper searched for `model`, axes in the nesting order of the grid search (the first
/// outermost, the last varying fastest). Selection takes the first strictly best configuration in this order.
/// MF-ESN: 1152 configurations; ESN: 240; MF-RNN: 48; RNN: 2.
pub fn table_iii(model: Model) -> &'static [Axis] {
    match model {
        Model::MfEsn => &[OMEGA, BETA, RHO, GAMMA, SLOPE, ("dt", &[0.1, 0.01, 0.001])],
        Model::Esn => &[OMEGA, BETA, RHO, ALPHA],
        Model::MfRnn => &[LR, GAMMA, SLOPE, ("dt", &[0.001, 0.01, 0.1])],
        Model::Rnn => &[LR],
    }
}

/// The values of axis `name` of `model`'s Table III grid; `None` when the grid has no such axis.
pub fn table_iii_axis(model: Model, name: &str) -> Option<&'static [f64]> {
    table_iii(model)
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// The value of hyper-parameter `name` the paper selected for `model` on data set `name` (Tables V-VIII).
pub fn selected_value(dataset: &str, model: Model, name: &str) -> Option<f64> {
    selected(dataset, model)?
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The reservoir size of every model (Sec. VI): N = 100 units.
pub const N_UNITS: usize = 100;

/// The symbol the paper uses for a hyper-parameter name (`omega` -> `ω`, `dt` -> `Δt`, `lr` -> `lr`).
pub fn symbol(name: &str) -> &str {
    match name {
        "omega" => "ω",
        "beta" => "β",
        "rho" => "ρ",
        "gamma" => "γ",
        "alpha" => "α",
        "dt" => "Δt",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_across_spellings() {
        assert_eq!(row_of("synthetic-control"), Some(1));
        assert_eq!(row_of("SyntheticControl"), Some(1));
        assert_eq!(row_of("ecg5000"), Some(2));
        assert_eq!(row_of("flood_modeling_3"), Some(9));
        assert_eq!(row_of("Unknown"), None);
        assert!(dataset("FloodModeling1").unwrap().is_regression());
        assert!(!dataset("Coffee").unwrap().is_regression());
    }

    #[test]
    fn table_iv_entries_match_the_text() {
        assert_eq!(
            table_iv("SyntheticControl", Model::MfEsn),
            Some(Score {
                mean: 0.950,
                std: 0.007
            })
        );
        assert_eq!(
            table_iv("Coffee", Model::MfRnn),
            Some(Score {
                mean: 0.950,
                std: 0.029
            })
        );
        assert_eq!(
            table_iv("ECG5000", Model::Rnn),
            Some(Score {
                mean: 0.804,
                std: 0.247
            })
        );
        assert_eq!(
            table_iv("GunPoint", Model::Esn),
            Some(Score {
                mean: 0.593,
                std: 0.023
            })
        );
    }

    #[test]
    fn grids_have_the_sizes_of_table_iii() {
        let size = |m| table_iii(m).iter().map(|(_, v)| v.len()).product::<usize>();
        assert_eq!(Model::ALL.map(size), [240, 1152, 2, 48]);
    }

    #[test]
    fn selections_lie_in_the_grids_but_one_printed_outlier() {
        let mut outside = Vec::new();
        for d in dataset_names() {
            for m in Model::ALL {
                let sel = selected(d, m).unwrap();
                let grid = table_iii(m);
                assert_eq!(sel.len(), grid.len(), "{d} {m:?}");
                let inside = sel
                    .iter()
                    .all(|(n, v)| grid.iter().any(|(g, vs)| g == n && vs.contains(v)));
                if !inside {
                    outside.push((d, m));
                }
            }
        }
        assert_eq!(outside, [("FloodModeling2", Model::Esn)]);
    }

    #[test]
    fn table_i_counts() {
        assert_eq!(DATASETS.iter().filter(|d| d.is_regression()).count(), 3);
        let e = dataset("Epilepsy").unwrap();
        assert_eq!(
            (e.n_train, e.n_test, e.max_len, e.n_classes, e.n_dims),
            (137, 138, 206, Some(4), 3)
        );
    }
}
